"""The counter roles, defined once: an English code, the Chinese group name
staff see, and exactly the permissions the role holds.

``sync_roles`` makes the database match this table (it adds and removes
permissions); the data migration core 0007 runs it, and so does every
``migrate`` afterwards (``core.apps``), so a permission added here reaches
the groups without another migration. Tests and services find a role's
group by its code (``role_group("clerk")``), never by its display name.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RoleSpec:
    name: str  # the group's name, as staff see it
    permissions: tuple[str, ...]  # "app_label.codename"


_VIEW_PEOPLE = (
    "accounts.view_depositor",
    "accounts.view_fundaccount",
    "accounts.view_accountstatuschange",
    "accounts.view_industry",
    "accounts.view_bankpartner",
    "deposits.view_depositagreement",
    "deposits.view_deposit",
    "deposits.view_agreementtext",
    "accounts.view_employer",
    "deposits.view_conversion",
)
_VIEW_MONEY = (
    "accounts.view_ledgeraccount",
    "accounts.view_ledgertransaction",
    "accounts.view_ledgerentry",
    "subsidies.view_settlementrun",
    "subsidies.view_subsidyaccount",
    "accounts.view_subsidyevent",
    "core.view_policyparameter",
)

# The national platforms' exchange: the messages with their age, the files,
# and the duplicate checks still waiting (the queue).
_VIEW_NATIONAL = (
    "national.view_nationalrecord",
    "national.view_nationalmessage",
    "national.view_exchangefile",
    "national.view_duplicatecheck",
)

ROLES: dict[str, RoleSpec] = {
    # Counter clerk: opens accounts, signs agreements, records deposits.
    "clerk": RoleSpec(
        "柜员",
        _VIEW_PEOPLE
        + (
            "accounts.add_fundaccount",
            "accounts.change_depositor",
            "deposits.add_depositagreement",
            "deposits.add_deposit",
            "banks.view_consent",
            "banks.add_consent",
            "withdrawals.view_withdrawal",
            "withdrawals.add_withdrawal",
            "withdrawals.view_evidence",
            # Takes loan applications at the counter and answers questions
            # about the schedule and repayments; decides nothing.
            "loans.view_loan",
            "loans.add_loan",
            "loans.view_instalment",
            "loans.view_repayment",
            # Registers employers, converts FE <-> employee on the same
            # account, and files transfers out and transfer-in requests.
            "accounts.add_employer",
            "deposits.add_conversion",
            "transfers.view_transferout",
            "transfers.add_transferout",
            "transfers.view_transferin",
            "transfers.add_transferin",
        ),
    ),
    # Reviewer: seals and reopens, sets credit records, sees full IDs.
    "reviewer": RoleSpec(
        "复核员",
        _VIEW_PEOPLE
        + (
            "accounts.change_fundaccount",
            "accounts.view_creditflag",
            "accounts.add_creditflag",
            "accounts.change_creditflag",
            "accounts.view_full_id_number",
            "deposits.view_arrearscheckrun",
            "withdrawals.view_withdrawal",
            "withdrawals.review_withdrawal",
            "withdrawals.view_evidence",
            "loans.view_loan",
            "loans.review_loan",
            "loans.view_instalment",
            "loans.view_repayment",
            # A loan waits on the national duplicate check: the reviewer sees
            # the queue and writes out what is waiting for the platforms.
            *_VIEW_NATIONAL,
            "national.export_nationalmessage",
            "transfers.view_transferout",
            "transfers.view_transferin",
        ),
    ),
    # Finance: the ledger, settlements, policy parameters (maker-checker).
    "finance": RoleSpec(
        "财务",
        _VIEW_MONEY
        + (
            "accounts.view_fundaccount",
            "accounts.view_bankpartner",
            "core.add_policyparameter",
            "core.approve_policyparameter",
            "withdrawals.view_withdrawal",
            "withdrawals.pay_withdrawal",
            # Disbursements and repayments post to the ledger.
            "loans.view_loan",
            "loans.view_instalment",
            "loans.view_repayment",
            # Transfers settle through the transfer clearing (2241).
            "transfers.view_transferout",
            "transfers.view_transferin",
        ),
    ),
    # Auditor: reads everything, changes nothing.
    "auditor": RoleSpec(
        "审计",
        _VIEW_PEOPLE
        + _VIEW_MONEY
        + (
            "accounts.view_creditflag",
            "accounts.view_full_id_number",
            "accounts.view_idnumberdisclosure",
            "deposits.view_arrearscheckrun",
            "core.view_auditrecord",
            "banks.view_consent",
            "banks.view_apirequestlog",
            "withdrawals.view_withdrawal",
            "withdrawals.view_withdrawalstatuschange",
            "loans.view_loan",
            "loans.view_loanstatuschange",
            "loans.view_instalment",
            "loans.view_repayment",
            "transfers.view_transferout",
            "transfers.view_transferin",
            *_VIEW_NATIONAL,
        ),
    ),
}


def sync_roles(apps: Any = None) -> None:
    """Create the groups and give each exactly its role's permissions."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or global_apps
    for config in global_apps.get_app_configs():
        config.models_module = config.models_module or True
        create_permissions(config, verbosity=0, apps=registry)
    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    role_model = registry.get_model("core", "Role")
    for code, spec in ROLES.items():
        role = role_model.objects.filter(code=code).select_related("group").first()
        if role is None:
            group, _created = group_model.objects.get_or_create(name=spec.name)
            role = role_model.objects.create(code=code, group=group)
        group = role.group
        if group.name != spec.name:
            group.name = spec.name
            group.save(update_fields=["name"])
        wanted = []
        for dotted in spec.permissions:
            app_label, codename = dotted.split(".", 1)
            wanted.extend(
                permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(wanted)


def role_group(code: str) -> Any:
    from core.models import Role

    return Role.objects.select_related("group").get(code=code).group
