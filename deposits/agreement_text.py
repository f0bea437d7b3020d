"""The first published agreement text, seeded by migration (and by tests'
reseed after a flush)."""

import datetime as dt

FIRST_VERSION = "2025.1"
FIRST_TITLE = "烟台市灵活就业人员住房公积金缴存协议"
FIRST_PUBLISHED = dt.date(2025, 1, 1)  # the pilot start
FIRST_BODY = """\
一、缴存人自愿以灵活就业人员身份参加住房公积金制度，在烟台市住房公积金管理中心（以下简称中心）开立住房公积金个人账户。
二、缴存人在中心规定的范围内自主确定月缴存额，可选择按月或按季度缴存；每次缴存须为整月足额，月缴存额变更自下一个未缴月份起生效。
三、按月缴存的，每月缴存额应于当月末前缴存；按季度缴存的，一个季度的缴存额应于该季度末前缴存。未按期足额缴存的为欠缴，可以补缴。
四、连续欠缴满6个月的，中心按本协议封存账户；账户余额为零且连续6个月未缴存的，中心按本协议注销账户。
五、住房公积金按中心公布的利率计息，每年6月30日结息。在本市首次参加住房公积金制度、按月连续足额缴存满12个月的部分，按年1.2%给予缴存补贴，补贴期限最长5年；发生提取、贷款、欠缴、封存或退出的，自当期结息日起不再计算补贴。
六、未申请住房公积金贷款或贷款已结清的，缴存人可随时退出，全额提取账户余额（含利息和已计入的补贴），账户注销。
七、缴存人享受与单位缴存职工同等的住房公积金提取和贷款政策，具体以中心公布的政策为准。
八、缴存人保证所提供信息真实、完整；中心依法保护缴存人的个人信息。
"""


def seed_agreement_texts(model) -> None:  # type: ignore[no-untyped-def]
    model.objects.get_or_create(
        version=FIRST_VERSION,
        defaults={
            "title": FIRST_TITLE,
            "body": FIRST_BODY,
            "published_on": FIRST_PUBLISHED,
        },
    )
