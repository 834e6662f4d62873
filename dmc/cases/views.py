"""Case pages: the list with the queue of what waits for me, and one case with its actions."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dmc.accounts import selectors as account_selectors
from dmc.accounts.web import actor_of, actor_required
from dmc.cases import services
from dmc.cases.models import Case
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.core.i18n import tr

KIND_EN = {
    Case.Kind.ID_CORRECTION: "ID correction",
    Case.Kind.DROPOUT: "Dropout consultation",
    Case.Kind.DUPLICATE: "Duplicate student",
    Case.Kind.GCODE: "G-code certification",
}


@actor_required
def case_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    qs = Case.objects.filter(services.visible_q(actor)).select_related(
        "school", "other_school", "person"
    )
    kind = request.GET.get("kind", "")
    if kind in Case.Kind.values:
        qs = qs.filter(kind=kind)
    status = request.GET.get("status", "open")
    if status == "open":
        qs = qs.filter(status__in=[Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW])
    awaiting = services.awaiting(actor)
    pending_accounts = account_selectors.pending_approvals(actor=actor).count()
    return render(
        request,
        "dmc/case_list.html",
        {
            "cases": qs[:200],
            "awaiting": awaiting[:200],
            "counts": services.queue_counts(actor),
            "kind": kind,
            "status": status,
            "kinds": [(k, label, KIND_EN[Case.Kind(k)]) for k, label in Case.Kind.choices],
            "pending_accounts": pending_accounts,
        },
    )


@actor_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = actor_of(request)
    case = services.case_get(actor=actor, case_id=case_id)
    error, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        note = request.POST.get("note", "")
        approve = request.POST.get("decision") == "approve"
        try:
            if action == "comment":
                services.comment_add(actor=actor, case_id=case.pk, text=note)
            elif action == "attach":
                upload = request.FILES.get("file")
                if upload is None:
                    raise DmcError(
                        ErrorCode.REQUIRED,
                        field_th="ไฟล์หลักฐาน",
                        field_en="Evidence file",
                        fields={"file": ["required"]},
                    )
                if upload.size and upload.size > settings.DMC_EVIDENCE_MAX_BYTES:
                    content = upload.read(settings.DMC_EVIDENCE_MAX_BYTES + 1)
                else:
                    content = upload.read()
                services.attachment_add(
                    actor=actor, case_id=case.pk, filename=upload.name or "", content=content
                )
            elif action == "forward":
                services.id_correction_forward(actor=actor, case_id=case.pk, note=note)
            elif action == "decide":
                services.case_decide(
                    actor=actor,
                    case_id=case.pk,
                    approve=approve,
                    keeper=request.POST.get("keeper", ""),
                    note=note,
                )
            else:
                raise not_found()
        except DmcError as exc:
            error, status = exc.message, exc.http_status
        else:
            request.session["dmc_case_ok"] = True
            return redirect("case-detail", case_id=case.pk)
        case = services.case_get(actor=actor, case_id=case_id)
    holder_area = case.other_school.area_id if case.other_school else None
    return render(
        request,
        "dmc/case_detail.html",
        {
            "case": case,
            "kind_en": KIND_EN[Case.Kind(case.kind)],
            "error": error,
            "saved": request.session.pop("dmc_case_ok", False),
            "comments": case.comments.select_related("author"),
            "attachments": case.attachments.all(),
            "can_forward": actor.is_area
            and case.kind == Case.Kind.ID_CORRECTION
            and case.status == Case.Status.SUBMITTED
            and case.school.area_id == actor.area_id,
            "can_decide": _can_decide(actor, case, holder_area),
            "open": case.status in (Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW),
        },
        status=status,
    )


def _can_decide(actor: object, case: Case, holder_area: int | None) -> bool:
    from dmc.accounts.actor import Actor

    assert isinstance(actor, Actor)
    if case.status not in (Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW):
        return False
    if case.kind == Case.Kind.ID_CORRECTION:
        return actor.is_obec and case.status == Case.Status.UNDER_REVIEW
    if case.kind == Case.Kind.DUPLICATE:
        return actor.is_obec or (actor.is_area and holder_area == actor.area_id)
    return actor.is_area and case.school.area_id == actor.area_id


@actor_required
def attachment_download(
    request: HttpRequest, case_id: int, attachment_id: int
) -> HttpResponse | FileResponse:
    """Evidence is streamed only to those who can see the case (never a public URL)."""
    actor = actor_of(request)
    case = services.case_get(actor=actor, case_id=case_id)
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise not_found()
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=True,
        filename=f"evidence-{attachment.pk}{attachment.extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def kind_label(case: Case) -> str:
    return tr(case.get_kind_display(), KIND_EN[Case.Kind(case.kind)])
