"""After the API load bench: ledger invariants and deposit counts (JSON out)."""

import json
import sys

import django

django.setup()

from django.db.models import Count, Sum  # noqa: E402

from accounts.models import BankPartner  # noqa: E402
from accounts.selectors import ledger_problems  # noqa: E402
from deposits.models import Deposit  # noqa: E402


def main() -> None:
    bank = BankPartner.objects.get(code="BENCH")
    agg = Deposit.objects.filter(bank=bank).aggregate(
        n=Count("id"), total=Sum("amount"), txns=Count("bank_txn_id", distinct=True)
    )
    print(
        json.dumps(
            {
                "deposits": agg["n"],
                "distinct_bank_txn_ids": agg["txns"],
                "total": str(agg["total"] or 0),
                "ledger_problems": ledger_problems(),
            }
        )
    )


if __name__ == "__main__":
    main()
    sys.exit(0)
