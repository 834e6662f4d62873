"""The password policy (issue 9): Django's four validators with our Thai/English messages, and
the hasher that stores passwords.

Minimum 10 characters, not a common password, not all digits, not like the username, name or
e-mail. Used on registration and password change (``AUTH_PASSWORD_VALIDATORS``).
"""

from __future__ import annotations

from django.contrib.auth import password_validation as pv
from django.contrib.auth.hashers import Argon2PasswordHasher

from dmc.core.i18n import tr


class MinimumLength(pv.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return tr(
            f"รหัสผ่านสั้นเกินไป ต้องมีอย่างน้อย {self.min_length} ตัวอักษร",
            f"The password is too short: at least {self.min_length} characters",
        )

    def get_help_text(self) -> str:
        return tr(
            f"รหัสผ่านต้องมีอย่างน้อย {self.min_length} ตัวอักษร",
            f"At least {self.min_length} characters",
        )


class NotCommon(pv.CommonPasswordValidator):
    def get_error_message(self) -> str:
        return tr(
            "รหัสผ่านนี้เป็นรหัสผ่านที่ใช้กันทั่วไปและเดาง่าย โปรดตั้งรหัสผ่านอื่น",
            "This password is too common and easy to guess; choose another",
        )

    def get_help_text(self) -> str:
        return tr("ห้ามใช้รหัสผ่านที่ใช้กันทั่วไป", "Not a commonly used password")


class NotNumeric(pv.NumericPasswordValidator):
    def get_error_message(self) -> str:
        return tr(
            "รหัสผ่านต้องไม่เป็นตัวเลขทั้งหมด โปรดผสมตัวอักษร",
            "The password cannot be all digits; mix in letters",
        )

    def get_help_text(self) -> str:
        return tr("ห้ามเป็นตัวเลขล้วน", "Not all digits")


class NotLikeUser(pv.UserAttributeSimilarityValidator):
    def get_error_message(self) -> str:
        return tr(
            "รหัสผ่านคล้ายกับ%(verbose_name)sของท่านมากเกินไป โปรดตั้งรหัสผ่านอื่น",
            "The password is too similar to your %(verbose_name)s; choose another",
        )

    def get_help_text(self) -> str:
        return tr(
            "ห้ามคล้ายกับชื่อผู้ใช้ ชื่อ หรืออีเมลของท่าน",
            "Not similar to your username, name or e-mail",
        )


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id at the OWASP Password Storage Cheat Sheet's recommended minimum: 19 MiB of
    memory, 2 passes, 1 lane (issue 8).

    Every certification checks the director's password again (step-up), so on deadline day
    ~29,500 checks land within hours. Django's default, PBKDF2-SHA256 at 1,000,000 iterations,
    costs ≈0.23 s of CPU per check on our 2-core server; this costs ≈0.025 s and, being
    memory-hard, resists GPU cracking better. Django's own Argon2 defaults (100 MiB, 8 lanes)
    would cost ≈0.17 s here. Hashes made with older settings or PBKDF2 still verify and are
    rewritten with these parameters at the next successful login (``must_update``).
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
