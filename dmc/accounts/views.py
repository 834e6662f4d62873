from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dmc.accounts import selectors, services, throttle
from dmc.accounts.middleware import SESSION_KEY
from dmc.accounts.models import Role, RoleAssignment, User
from dmc.accounts.web import actor_of, actor_required
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.i18n import tr
from dmc.core.middleware import LANG_COOKIE
from dmc.privacy.access import SESSION_KEY as PURPOSES_KEY
from dmc.schools.models import AreaOffice, School


def _approver(assignment: RoleAssignment) -> tuple[str, str]:
    if assignment.role in (Role.SCHOOL_OFFICER, Role.SCHOOL_DIRECTOR):
        return "สำนักงานเขตพื้นที่การศึกษาของโรงเรียน", "the school's area office"
    return "สำนักงานคณะกรรมการการศึกษาขั้นพื้นฐาน (สพฐ.)", "OBEC"


def login_view(request: HttpRequest) -> HttpResponse:
    error = None
    status = 200
    user = None
    if request.method == "POST":
        username = request.POST.get("username", "")
        keys = (throttle.user_key(username), throttle.ip_key(throttle.client_ip(request)))
        try:
            # while locked the password is not even checked (issue 9)
            throttle.check(ErrorCode.LOGIN_THROTTLED, *keys)
        except DmcError as exc:
            error, status = exc.message, exc.http_status
        else:
            user = authenticate(
                request, username=username, password=request.POST.get("password", "")
            )
            if user is None:
                throttle.record_failure(*keys)
                error = tr("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", "Wrong username or password")
        if user is None:
            pass  # the error is set above
        elif not selectors.approved_assignments(user).exists():
            pending = RoleAssignment.objects.filter(user=user).first()
            th, en = _approver(pending) if pending else ("ผู้ดูแลระบบ", "an administrator")
            error = DmcError(ErrorCode.ACCOUNT_NOT_APPROVED, approver_th=th, approver_en=en).message
        else:
            throttle.reset(keys[0])
            login(request, user)  # rotates the session key
            nxt = request.POST.get("next", "")
            request.session["dmc_next"] = (
                nxt
                if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()})
                else ""
            )
            return redirect("role-pick")
    return render(
        request,
        "dmc/login.html",
        {"error": error, "next": request.GET.get("next", "")},
        status=status if status != 200 else (401 if error else 200),
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)  # flushes the session
    return redirect("login")


def role_pick(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    assignments = list(selectors.approved_assignments(request.user))  # type: ignore[arg-type]
    chosen = None
    if request.method == "POST":
        chosen = next((a for a in assignments if str(a.pk) == request.POST.get("assignment")), None)
    elif len(assignments) == 1:
        chosen = assignments[0]
    if chosen is not None:
        nxt = request.session.get("dmc_next", "")
        request.session.cycle_key()  # a new session id for a new role
        request.session[SESSION_KEY] = chosen.pk
        request.session.pop(PURPOSES_KEY, None)  # the new role states its own purposes
        request.session.pop("dmc_next", None)
        return redirect(nxt or "home")
    return render(request, "dmc/role_pick.html", {"assignments": assignments})


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    language = "en" if request.POST.get("lang") == "en" else "th"
    # The Referer is the page as the user sees it now (HTMX may have pushed a newer URL than the
    # one the form was rendered with); the hidden field is the fallback.
    nxt = request.headers.get("Referer") or request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    response = redirect(nxt)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


class RegisterForm(forms.Form):
    username = forms.RegexField(regex=r"^[A-Za-z0-9_.]{6,30}$", max_length=30)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role if r != Role.OBEC_ADMIN])
    scope_code = forms.CharField(max_length=10)


def register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    done = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        school = area = None
        if data["role"] == Role.AREA_OFFICER:
            area = AreaOffice.objects.filter(code=data["scope_code"].strip()).first()
            if area is None:
                form.add_error("scope_code", tr("ไม่พบรหัสเขตพื้นที่นี้", "Unknown area code"))
        else:
            school = School.objects.filter(smis_code=data["scope_code"].strip()).first()
            if school is None:
                form.add_error(
                    "scope_code",
                    tr("ไม่พบรหัสโรงเรียน (SMIS 8 หลัก) นี้", "Unknown school code (8-digit SMIS)"),
                )
        if not form.errors:
            try:
                done = services.user_register(
                    username=data["username"],
                    password=data["password"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    role=data["role"],
                    school=school,
                    area=area,
                )
            except DmcError as exc:
                for name, messages in (exc.fields or {"__all__": [exc.message]}).items():
                    target = name if name in form.fields else None
                    for message in messages or [exc.message]:
                        form.add_error(target, message)
    return render(request, "dmc/register.html", {"form": form, "done": done})


@actor_required
def approvals(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require_role(Role.AREA_OFFICER, Role.OBEC_ADMIN)
    if request.method == "POST":
        services.assignment_decide(
            actor=actor,
            assignment_id=int(request.POST.get("assignment", "0") or 0),
            approve=request.POST.get("decision") == "approve",
            note=request.POST.get("note", "")[:500],
        )
        return redirect("approvals")
    pending = selectors.pending_approvals(actor=actor)
    return render(request, "dmc/approvals.html", {"pending": pending})


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    new_password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    new_password_again = forms.CharField(widget=forms.PasswordInput, max_length=128)


def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password (issue 9). The session stays logged in under a new key; every
    other session of the user is ended (Django's session auth hash)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = PasswordChangeForm(request.POST or None)
    done = False
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["new_password"] != data["new_password_again"]:
            form.add_error(
                "new_password_again",
                tr("รหัสผ่านใหม่ทั้งสองช่องไม่ตรงกัน", "The two new passwords differ"),
            )
        else:
            try:
                services.password_change(
                    user=request.user,  # type: ignore[arg-type]
                    old_password=data["old_password"],
                    new_password=data["new_password"],
                )
            except DmcError as exc:
                status = exc.http_status
                for name, messages in (exc.fields or {"__all__": [exc.message]}).items():
                    target = name if name in form.fields else None
                    for message in messages if exc.code == ErrorCode.VALIDATION else [exc.message]:
                        form.add_error(target, message)
            else:
                update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
                done = True
                form = PasswordChangeForm()
    if form.errors and status == 200:
        status = 400
    return render(request, "dmc/password_change.html", {"form": form, "done": done}, status=status)


def user_display(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username
