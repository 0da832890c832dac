"""The auditor's download: audit events by date range, streamed as JSON Lines or CSV."""

from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse

from .export import FORMATS, export_lines, parse_bound
from .selectors import audit_events_between


def audit_export_view(request, *, admin_site):
    """GET with ``since``, ``until`` and ``format``; without ``format``, the form."""
    if not request.user.has_perm("audit.view_auditevent"):
        raise PermissionDenied
    fmt = request.GET.get("format", "")
    error = ""
    if fmt:
        try:
            since = parse_bound(request.GET.get("since"))
            until = parse_bound(request.GET.get("until"), end=True)
            if fmt not in FORMATS:
                raise ValueError(f"Unknown format {fmt!r}.")
        except ValueError as exc:
            error = str(exc)
        else:
            events = audit_events_between(since=since, until=until)
            response = StreamingHttpResponse(export_lines(events, fmt), content_type=FORMATS[fmt])
            label = f"{request.GET.get('since') or 'start'}_{request.GET.get('until') or 'now'}"
            response["Content-Disposition"] = f'attachment; filename="audit-events_{label}.{fmt}"'
            return response
    context = {
        **admin_site.each_context(request),
        "title": "Export audit events",
        "error": error,
        "formats": list(FORMATS),
        "values": request.GET,
    }
    return TemplateResponse(
        request, "admin/audit/auditevent/export.html", context, status=400 if error else 200
    )
