"""Maker-checker, once: whoever entered an application never approves it,
and a second approval comes from someone other than the first.

Withdrawals above the single-review limit and every loan take two approvals;
both review services ask these two questions, with the same codes
(``self_approval``, ``same_approver``) and the same words on every face.
"""

from typing import Any

from django.utils.translation import gettext as _

from core.actors import Actor
from core.exceptions import PermissionDeniedError


def review_check(*, entered: Any, who: Actor, first_approver_id: int | None) -> None:
    """``entered`` is the application (an ``ActorStamp``): who keyed it in.
    A bank or the depositor entering it binds no member of staff."""
    if entered.actor_kind == "staff" and entered.actor_id == who.user_id:
        raise PermissionDeniedError(
            _("You entered this application; another person must approve it."),
            "self_approval",
        )
    if first_approver_id is not None and first_approver_id == who.user_id:
        raise PermissionDeniedError(
            _("The second approval must come from another person."),
            "same_approver",
        )
