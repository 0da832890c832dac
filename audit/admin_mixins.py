"""Admin building blocks that write to the audit log."""

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import model_format_dict
from django.http import HttpResponseRedirect

from .events import ADMIN_ACTION_REFUSED
from .services import Actor, record_event


class AuditedActionRefusalMixin:
    """For admins whose actions matter even as attempts (minting or withdrawing a
    credential): a POST naming one of this admin's actions that the user is not offered
    (its ``permissions=`` are not theirs) is refused before the change list sees it, with
    an error message, and audited as ``admin.action_refused``. Django itself would only
    ignore it ("No action selected."), leaving no trace."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            requested, offered = request.POST.getlist("action"), self.get_actions(request)
            for _, name, description in self._get_base_actions():
                if name in requested and name not in offered:
                    return self._refuse_action(request, name, description)
        return super().changelist_view(request, extra_context)

    def _refuse_action(self, request, name: str, description: str):
        selected = [pk[:64] for pk in request.POST.getlist(ACTION_CHECKBOX_NAME)[:100]]
        label = self.model._meta.label_lower
        record_event(
            event_type=ADMIN_ACTION_REFUSED,
            actor=Actor.user(request.user),
            subject=(label, selected[0] if len(selected) == 1 else ""),
            payload={
                "model": label,
                "action": name,
                "selected": selected,
                "select_across": request.POST.get("select_across") == "1",
            },
        )
        description %= model_format_dict(self.opts)
        self.message_user(
            request,
            f"You may not run “{description}”: it needs a permission you do not hold. "
            "The attempt has been recorded.",
            messages.ERROR,
        )
        return HttpResponseRedirect(request.get_full_path())
