from django.db import migrations

INDUSTRIES = [
    ("fruit_apple", "苹果种植", "fruit"),
    ("fruit_cherry", "大樱桃种植", "fruit"),
    ("fruit_laiyang_pear", "莱阳梨种植", "fruit"),
    ("aqua_farming", "海产养殖", "aquaculture"),
    ("aqua_marine_ranch", "海洋牧场", "aquaculture"),
    ("new_ecommerce", "电商", "new_forms"),
    ("new_courier", "快递", "new_forms"),
    ("new_ride_hailing", "网约车", "new_forms"),
    ("new_food_delivery", "外卖", "new_forms"),
    ("retail_tobacco", "烟草零售", "special_retail"),
    ("retail_pharma", "医药零售", "special_retail"),
    ("chain_gold", "黄金精深加工", "key_chains"),
    ("chain_logistics", "现代物流", "key_chains"),
    ("chain_aerospace", "航空航天", "key_chains"),
    ("other", "其他", "other"),
]

CENTER_ACCOUNTS = [
    ("1001", "中心结算户", "asset"),
    ("1301", "应收个人住房贷款", "asset"),
    ("2241", "异地转移清算", "liability"),
    ("2901", "贷款风险准备金", "liability"),
    ("4101", "贷款利息收入", "income"),
    ("5201", "缴存利息支出", "expense"),
    ("5202", "灵活就业缴存补贴支出", "expense"),
]

# Roles of the counter, with the model permissions each needs.
ROLES = {
    "柜员": [
        "view_depositor", "add_depositor", "change_depositor", "view_fundaccount",
        "add_fundaccount", "view_accountstatuschange", "view_industry", "view_bankpartner",
    ],
    "复核员": [
        "view_depositor", "view_fundaccount", "change_fundaccount", "view_accountstatuschange",
        "view_creditflag", "add_creditflag", "change_creditflag", "view_full_id_number",
    ],
    "财务": [
        "view_fundaccount", "view_ledgeraccount", "view_ledgertransaction", "view_ledgerentry",
        "view_bankpartner", "view_policyparameter", "change_policyparameter",
    ],
    "审计": [
        "view_depositor", "view_fundaccount", "view_accountstatuschange", "view_ledgeraccount",
        "view_ledgertransaction", "view_ledgerentry", "view_policyparameter",
        "view_creditflag", "view_full_id_number", "view_bankpartner",
    ],
}


def seed(apps, schema_editor):
    Industry = apps.get_model("accounts", "Industry")
    LedgerAccount = apps.get_model("accounts", "LedgerAccount")
    for order, (code, name, group) in enumerate(INDUSTRIES):
        Industry.objects.get_or_create(
            code=code, defaults={"name": name, "group": group, "sort_order": order}
        )
    for code, name, type_ in CENTER_ACCOUNTS:
        LedgerAccount.objects.get_or_create(code=code, defaults={"name": name, "type": type_})


def seed_roles(apps, schema_editor):
    # Permissions are created after migrate; make them now so groups can hold them.
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for config in global_apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_ledger_triggers"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0002_seed_policy_parameters"),
    ]
    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(seed_roles, migrations.RunPython.noop),
    ]
