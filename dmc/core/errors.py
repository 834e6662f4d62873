"""The one error model: a stable ``ErrorCode``, Thai + English messages, an HTTP status.

Every business-rule refusal anywhere (web, API, CLI, import) is a ``DmcError``. Messages are
templates with named ``{placeholders}``; tests compare codes, never message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dmc.core.i18n import lang


class ErrorCode(StrEnum):
    # identity and input
    CITIZEN_ID_FORMAT = "citizen_id_format"
    CITIZEN_ID_CHECKSUM = "citizen_id_checksum"
    GCODE_FORMAT = "gcode_format"
    GCODE_PROVINCE = "gcode_province"
    DOCUMENT_TYPE = "document_type"
    DATE_FORMAT = "date_format"
    DATE_RANGE = "date_range"
    NUMBER_FORMAT = "number_format"
    CODE_UNKNOWN = "code_unknown"
    REQUIRED = "required"
    VALUE_RANGE = "value_range"
    VALIDATION = "validation"
    TITLE_SEX_AGE = "title_sex_age"
    GRADE_NOT_OFFERED = "grade_not_offered"
    ROOM_OUT_OF_RANGE = "room_out_of_range"
    # access
    NOT_AUTHENTICATED = "not_authenticated"
    NOT_IN_SCOPE = "not_in_scope"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    ACCOUNT_NOT_APPROVED = "account_not_approved"
    NO_ACTIVE_ROLE = "no_active_role"
    NOT_FOUND = "not_found"
    # state and concurrency
    ENROLMENT_ACTIVE_ELSEWHERE = "enrolment_active_elsewhere"
    STUDENT_NO_TAKEN = "student_no_taken"
    PERSON_EXISTS = "person_exists"
    STALE_VERSION = "stale_version"
    WINDOW_CLOSED = "window_closed"
    ROUND_NOT_FOUND = "round_not_found"
    CITIZEN_ID_DIRECT_EDIT = "citizen_id_direct_edit"
    ALREADY_DECIDED = "already_decided"
    CLOCK_LOCKED = "clock_locked"
    USERNAME_TAKEN = "username_taken"
    # the round (issue 3) and the seed letter's rules
    ID_CORRECTION_CLOSED = "id_correction_closed"
    NOT_EXAM_TAKER = "not_exam_taker"
    MEASURE_MISSING = "measure_missing"
    MEASURE_IMPLAUSIBLE = "measure_implausible"
    HEIGHT_DROP = "height_drop"
    NEXT_YEAR_APPLICANT = "next_year_applicant"
    ADD_NOT_EXAM_TAKER = "add_not_exam_taker"
    LEFT_AFTER_EXAM = "left_after_exam"
    DROPOUT_NOT_APPROVED = "dropout_not_approved"
    YEAR_END_ORDER = "year_end_order"
    TRACKED_CANNOT_WITHDRAW = "tracked_cannot_withdraw"
    CONFIRM_WINDOW_CLOSED = "confirm_window_closed"
    GRADE_CHANGE_REASON = "grade_change_reason"
    GRADUATE_NOT_WITHDRAWN = "graduate_not_withdrawn"
    AGE_NOT_COUNTED = "age_not_counted"
    ROOMS_MISMATCH = "rooms_mismatch"
    CERTIFIER_SAME_PERSON = "certifier_same_person"
    NOT_CONFIRMED = "not_confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_CERTIFIED = "already_certified"
    NOT_CERTIFIED = "not_certified"
    SELF_CANCEL_PASSED = "self_cancel_passed"
    CONFIRMED_READ_ONLY = "confirmed_read_only"
    CHECKLIST_BLOCKING = "checklist_blocking"
    CONFIRM_LOCKED = "confirm_locked"
    ROUND_NOT_CLOSABLE = "round_not_closable"
    ROUND_CLOSED = "round_closed"
    WINDOWS_ORDER = "windows_order"
    NOTE_REQUIRED = "note_required"
    NOT_A_QUERY = "not_a_query"
    REOPEN_NOT_NEEDED = "reopen_not_needed"
    REOPEN_PENDING = "reopen_pending"
    CASE_NOT_FORWARDED = "case_not_forwarded"
    TOO_LONG = "too_long"
    CASE_ALREADY_OPEN = "case_already_open"
    # data exchange (issue 6)
    EXPORT_PURPOSE_REQUIRED = "export_purpose_required"
    # the school import (issue 6): the file as a whole
    IMPORT_FILE_EMPTY = "import_file_empty"
    IMPORT_FILE_TOO_LARGE = "import_file_too_large"
    IMPORT_TOO_MANY_ROWS = "import_too_many_rows"
    IMPORT_NOT_TEXT = "import_not_text"
    IMPORT_ENCODING = "import_encoding"
    IMPORT_FORMAT = "import_format"
    IMPORT_CELL_HUGE = "import_cell_huge"
    IMPORT_HEADER = "import_header"
    IMPORT_NO_ROWS = "import_no_rows"
    XLSX_NOT_ZIP = "xlsx_not_zip"
    XLSX_ZIP_BOMB = "xlsx_zip_bomb"
    XLSX_XML_ENTITY = "xlsx_xml_entity"
    XLSX_SHEET_TOO_BIG = "xlsx_sheet_too_big"
    XLSX_BROKEN = "xlsx_broken"
    IMPORT_ROUND_MISMATCH = "import_round_mismatch"
    IMPORT_CONFLICT = "import_conflict"
    # the school import: one row
    IMPORT_SCHOOL_MISMATCH = "import_school_mismatch"
    IMPORT_DUPLICATE_ID = "import_duplicate_id"
    IMPORT_DUPLICATE_STUDENT_NO = "import_duplicate_student_no"
    IMPORT_IDENTITY_MISMATCH = "import_identity_mismatch"
    IMPORT_TRACKED_318 = "import_tracked_318"
    SCHOOL_UNKNOWN = "school_unknown"
    DUPLICATE_IN_FILE = "duplicate_in_file"
    BATCH_FILE_MISMATCH = "batch_file_mismatch"
    # issue 9 (reliability): the database cannot be reached
    DB_UNAVAILABLE = "db_unavailable"
    CSRF_FAILED = "csrf_failed"
    # nutrition, per-head budget, certificate (issue 7)
    NUTRITION_REFERENCE_INVALID = "nutrition_reference_invalid"
    NUTRITION_REFERENCE_UNKNOWN = "nutrition_reference_unknown"
    BUDGET_RATES_INVALID = "budget_rates_invalid"
    BUDGET_NO_RATES = "budget_no_rates"
    BUDGET_ROUND_NOT_FUNDED = "budget_round_not_funded"
    # issue 8: load shedding (dmc/perf)
    SERVER_BUSY = "server_busy"
    RATE_LIMITED = "rate_limited"
    # issue 9: authentication, step-up, PDPA purposes
    LOGIN_THROTTLED = "login_throttled"
    TOKEN_THROTTLED = "token_throttled"  # noqa: S105 - an error code, not a secret
    STEP_UP_REQUIRED = "step_up_required"
    STEP_UP_FAILED = "step_up_failed"
    PASSWORD_WRONG = "password_wrong"  # noqa: S105 - an error code, not a secret
    ACCESS_PURPOSE_REQUIRED = "access_purpose_required"
    # issue 5: end of year (L8) and rollover
    YEAR_RESULT_REQUIRED = "year_result_required"
    YEARS_STUDIED_RANGE = "years_studied_range"
    EVALUATIONS_REQUIRED = "evaluations_required"
    DESTINATION_REQUIRED = "destination_required"
    YEAR_END_TRACKED = "year_end_tracked"
    NOT_REPEATER = "not_repeater"
    NOT_GRADUATE = "not_graduate"
    ROLLOVER_NOT_CLOSED = "rollover_not_closed"
    ROLLOVER_RUNNING = "rollover_running"
    YEAR_END_HEADER = "year_end_header"
    YEAR_END_STUDENT_UNKNOWN = "year_end_student_unknown"
    # issue 7: reports
    JOB_NOT_DONE = "job_not_done"
    # the background job queue (dmc/jobs)
    JOB_FAILED = "job_failed"
    JOB_ABANDONED = "job_abandoned"
    JOB_ROLE_REVOKED = "job_role_revoked"


# code -> (Thai template, English template)
MESSAGES: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.CITIZEN_ID_FORMAT: (
        "เลขประจำตัวประชาชนต้องเป็นตัวเลข 13 หลัก (ได้รับ {length} หลัก)",
        "A citizen ID has 13 digits (got {length})",
    ),
    ErrorCode.CITIZEN_ID_CHECKSUM: (
        "เลขประจำตัวประชาชนไม่ถูกต้อง: หลักตรวจสอบ (หลักที่ 13) ควรเป็น {expected} โปรดตรวจสอบการพิมพ์",
        "Invalid citizen ID: the check digit (13th) should be {expected}; check for a typo",
    ),
    ErrorCode.GCODE_FORMAT: (
        "รหัส G ต้องเป็น G ตามด้วยตัวเลข 12 หลัก (ปี พ.ศ. 2 หลัก + รหัสจังหวัด 2 หลัก + ลำดับ 8 หลัก)",
        "A G-code is G followed by 12 digits (2-digit BE year + 2-digit province + 8-digit number)",
    ),
    ErrorCode.GCODE_PROVINCE: (
        "รหัส G มีรหัสจังหวัด {province} ซึ่งไม่มีอยู่จริง",
        "The G-code's province code {province} does not exist",
    ),
    ErrorCode.DOCUMENT_TYPE: (
        "ประเภทเอกสาร {value} ไม่ถูกต้อง (ใช้ I บัตรประชาชน, P หนังสือเดินทาง, A บัตรต่างด้าว, O ไม่มีเอกสาร)",
        "Unknown document type {value} (use I ID card, P passport, A alien card, O none)",
    ),
    ErrorCode.DATE_FORMAT: (
        "วันที่ {value} อ่านไม่ได้ ให้ใช้รูปแบบ วว/ดด/ปปปป (พ.ศ.) เช่น 05/07/2553",
        "Cannot read the date {value}; use dd/mm/yyyy (Buddhist era), e.g. 05/07/2553",
    ),
    ErrorCode.DATE_RANGE: (
        "วันที่ {value} อยู่นอกช่วงที่เป็นไปได้",
        "The date {value} is outside the possible range",
    ),
    ErrorCode.NUMBER_FORMAT: (
        "ค่า {value} ต้องเป็นตัวเลข",
        "The value {value} must be a number",
    ),
    ErrorCode.CODE_UNKNOWN: (
        "ค่า {value} ไม่อยู่ในรายการ{list_th}",
        "{value} is not in the {list_en} list",
    ),
    ErrorCode.REQUIRED: ("ต้องกรอก{field_th}", "{field_en} is required"),
    ErrorCode.VALUE_RANGE: (
        "{field_th} {value} อยู่นอกช่วงที่เป็นไปได้ ({low}–{high})",
        "{field_en} {value} is outside the plausible range ({low}–{high})",
    ),
    ErrorCode.VALIDATION: ("ข้อมูลไม่ถูกต้อง โปรดแก้ไขช่องที่ระบุ", "Invalid data; fix the fields shown"),
    ErrorCode.TITLE_SEX_AGE: (
        "คำนำหน้าชื่อ {title} ไม่สอดคล้องกับเพศและอายุ ({age} ปี) ควรเป็น {expected}",
        "The title {title} does not agree with sex and age ({age}); expected {expected}",
    ),
    ErrorCode.GRADE_NOT_OFFERED: (
        "โรงเรียนไม่ได้เปิดสอนชั้น {grade}",
        "The school does not offer grade {grade}",
    ),
    ErrorCode.ROOM_OUT_OF_RANGE: (
        "ห้อง {room} ไม่มีในชั้น {grade} (โรงเรียนมี {rooms} ห้อง)",
        "Room {room} does not exist in grade {grade} (the school has {rooms} rooms)",
    ),
    ErrorCode.NOT_AUTHENTICATED: ("กรุณาเข้าสู่ระบบ", "Please log in"),
    ErrorCode.NOT_IN_SCOPE: (
        "ไม่มีสิทธิ์เข้าถึงข้อมูลนี้ (อยู่นอกหน่วยงานของท่าน)",
        "You have no access to this record (outside your unit)",
    ),
    ErrorCode.ROLE_NOT_ALLOWED: (
        "บทบาท {role_th} ไม่สามารถทำรายการนี้ได้",
        "The role {role_en} cannot do this",
    ),
    ErrorCode.ACCOUNT_NOT_APPROVED: (
        "บัญชียังไม่ได้รับการอนุมัติ โปรดติดต่อ{approver_th}",
        "The account is not yet approved; contact {approver_en}",
    ),
    ErrorCode.NO_ACTIVE_ROLE: ("กรุณาเลือกบทบาทก่อนใช้งาน", "Choose a role first"),
    ErrorCode.NOT_FOUND: ("ไม่พบข้อมูลที่ต้องการ", "Not found"),
    ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE: (
        "นักเรียนคนนี้มีสถานะกำลังศึกษาอยู่ที่{school_th}ในปีการศึกษา {year} แล้ว"
        " (นักเรียน 1 คนมีสถานะกำลังศึกษาได้เพียง 1 โรงเรียน) โปรดประสานให้โรงเรียนเดิมย้ายออกก่อน",
        "This student is already active at {school_en} in academic year {year} (one active"
        " enrolment per student); ask that school to transfer the student out first",
    ),
    ErrorCode.STUDENT_NO_TAKEN: (
        "เลขประจำตัวนักเรียน {student_no} ถูกใช้แล้วในโรงเรียนนี้",
        "Student number {student_no} is already used in this school",
    ),
    ErrorCode.PERSON_EXISTS: (
        "มีบุคคลที่ใช้เลขประจำตัวนี้อยู่แล้วในระบบ ให้ใช้เมนูรับย้ายเข้าแทน",
        "A person with this ID already exists; use transfer-in instead",
    ),
    ErrorCode.STALE_VERSION: (
        "ข้อมูลนี้ถูกแก้ไขโดยผู้อื่นเมื่อ {changed_at} หลังจากที่ท่านเปิดหน้านี้"
        " การบันทึกของท่านยังไม่ถูกบันทึก โปรดตรวจสอบข้อมูลล่าสุดแล้วแก้ไขอีกครั้ง",
        "Someone else changed this record at {changed_at} after you opened it; your change was"
        " not saved. Review the latest data and edit again",
    ),
    ErrorCode.WINDOW_CLOSED: (
        "ขณะนี้ ({now}) ไม่อยู่ในช่วงเวลา{window_th} ซึ่งเปิดตั้งแต่ {opens} ถึง {closes}",
        "It is now {now}, outside the {window_en} window, open from {opens} to {closes}",
    ),
    ErrorCode.ROUND_NOT_FOUND: (
        "ไม่พบรอบการเก็บข้อมูลของปีการศึกษา {year}",
        "No collection round found for academic year {year}",
    ),
    ErrorCode.CITIZEN_ID_DIRECT_EDIT: (
        "แก้ไขเลขประจำตัวประชาชนโดยตรงไม่ได้ ให้ยื่นคำร้องขอแก้ไขเลขประจำตัวประชาชน",
        "A citizen ID cannot be edited directly; submit an ID-correction request",
    ),
    ErrorCode.ALREADY_DECIDED: (
        "รายการนี้ได้รับการพิจารณาไปแล้ว",
        "This request has already been decided",
    ),
    ErrorCode.CLOCK_LOCKED: (
        "ไม่สามารถตั้งเวลาของระบบได้ในระบบจริง",
        "The server clock cannot be set in production",
    ),
    ErrorCode.USERNAME_TAKEN: ("ชื่อผู้ใช้ {username} ถูกใช้แล้ว", "Username {username} is taken"),
    ErrorCode.ID_CORRECTION_CLOSED: (
        "หมดเวลายื่นคำร้องขอแก้ไขเลขประจำตัวประชาชนของรอบนี้แล้ว (ปิดเมื่อ {deadline})",
        "ID-correction requests for this round closed at {deadline}",
    ),
    ErrorCode.NOT_EXAM_TAKER: (
        "ข้อมูลสิ้นปีการศึกษาต้องมีเฉพาะนักเรียนที่เข้าสอบปลายภาคที่โรงเรียนนี้ นักเรียนที่ไม่ได้สอบ"
        " ให้ย้ายออก/จำหน่าย หรือบันทึกในเมนู 3.1.8",
        "The end-of-year roster holds only students who sat the final exam here; transfer out or"
        " withdraw the others, or flag them 3.1.8",
    ),
    ErrorCode.MEASURE_MISSING: (
        "ยังไม่ได้บันทึก{field_th}",
        "{field_en} is missing",
    ),
    ErrorCode.MEASURE_IMPLAUSIBLE: (
        "{field_th} {value} ไม่สมเหตุสมผลสำหรับอายุ {age} ปี (ช่วงที่ยอมรับ {low}–{high})",
        "{field_en} {value} is implausible for age {age} (accepted {low}–{high})",
    ),
    ErrorCode.HEIGHT_DROP: (
        "ส่วนสูงลดลงจาก {before} เป็น {after} ซม. โปรดตรวจสอบหรืออธิบาย",
        "Height dropped from {before} to {after} cm; check it or explain",
    ),
    ErrorCode.NEXT_YEAR_APPLICANT: (
        "ห้ามบันทึกนักเรียนที่สมัครเข้าเรียนในปีการศึกษาถัดไปในรอบสิ้นปีการศึกษา",
        "Applicants for the next academic year may not be entered in the end-of-year round",
    ),
    ErrorCode.ADD_NOT_EXAM_TAKER: (
        "ในรอบสิ้นปีการศึกษา รับย้ายเข้า/เพิ่มได้เฉพาะนักเรียนที่เข้าสอบปลายภาคปีนี้กับโรงเรียนนี้",
        "In the end-of-year round only students who sat this year's final exam here may be added"
        " or transferred in",
    ),
    ErrorCode.LEFT_AFTER_EXAM: (
        "ในรอบสิ้นปีการศึกษา ย้ายออก/จำหน่ายได้เฉพาะนักเรียนที่ออกก่อนสอบปลายภาค",
        "In the end-of-year round only students who left before the final exam may be"
        " transferred out or withdrawn",
    ),
    ErrorCode.DROPOUT_NOT_APPROVED: (
        "การจำหน่ายกรณีออกกลางคันต้องได้รับความเห็นชอบจากสำนักงานเขตพื้นที่การศึกษาก่อน",
        "A dropout takes effect only after the area office approves the consultation",
    ),
    ErrorCode.YEAR_END_ORDER: (
        "ต้องทำเมนู {previous} ให้ครบก่อนเมนู {menu} (ยังค้าง {pending} คน)",
        "Finish menu {previous} before menu {menu} ({pending} students pending)",
    ),
    ErrorCode.TRACKED_CANNOT_WITHDRAW: (
        "นักเรียนที่อยู่ในสถานะ 3.1.8 (ยังไม่สามารถจำหน่ายได้) จำหน่ายไม่ได้ ให้ยกเลิกสถานะก่อน",
        "A student flagged 3.1.8 cannot be withdrawn; clear the flag first",
    ),
    ErrorCode.CONFIRM_WINDOW_CLOSED: (
        "ขณะนี้ ({now}) ไม่อยู่ในช่วงเวลายืนยัน/รับรองข้อมูล ซึ่งเปิดตั้งแต่ {opens} ถึง {closes}",
        "It is now {now}, outside the confirm/certify window, open from {opens} to {closes}",
    ),
    ErrorCode.GRADE_CHANGE_REASON: (
        "การเปลี่ยนชั้น/ห้องเป็นการแก้ไขข้อมูลที่ผิด ต้องระบุเหตุผล (การเลื่อนชั้นทำโดยระบบเมื่อสิ้นปี)",
        "A grade/room change is a correction and needs a reason (promotion happens at rollover)",
    ),
    ErrorCode.GRADUATE_NOT_WITHDRAWN: (
        "นักเรียนที่จบการศึกษาจำหน่ายไม่ได้ ให้บันทึกผลในเมนูสิ้นปีการศึกษา",
        "Graduates are never withdrawn; record them in the year-end menus",
    ),
    ErrorCode.AGE_NOT_COUNTED: (
        "อายุ {age} ปี (ณ 16 พ.ค.) ไม่นับเป็นจำนวนนักเรียนอย่างเป็นทางการ (นับเฉพาะอายุ 4–20 ปี)",
        "Age {age} (at 16 May) is not counted officially (ages 4–20 only)",
    ),
    ErrorCode.ROOMS_MISMATCH: (
        "ชั้น {grade} มีนักเรียน {students} คน แต่มี {rooms} ห้อง {fix_th}",
        "Grade {grade} has {students} students but {rooms} rooms; {fix_en}",
    ),
    ErrorCode.CERTIFIER_SAME_PERSON: (
        "ผู้รับรองข้อมูลต้องไม่ใช่คนเดียวกับผู้ยืนยันข้อมูล",
        "The certifier must be a different person from the one who confirmed",
    ),
    ErrorCode.NOT_CONFIRMED: (
        "โรงเรียนยังไม่ได้ยืนยันข้อมูลในรอบนี้",
        "The school has not confirmed this round",
    ),
    ErrorCode.ALREADY_CONFIRMED: (
        "โรงเรียนยืนยันข้อมูลรอบนี้แล้วเมื่อ {at}",
        "The school already confirmed this round at {at}",
    ),
    ErrorCode.ALREADY_CERTIFIED: (
        "ผู้บริหารรับรองข้อมูลรอบนี้แล้วเมื่อ {at}",
        "The director already certified this round at {at}",
    ),
    ErrorCode.NOT_CERTIFIED: (
        "โรงเรียนยังไม่ได้รับรองข้อมูลโดยผู้บริหาร",
        "The school's director has not certified yet",
    ),
    ErrorCode.SELF_CANCEL_PASSED: (
        "เลยกำหนดที่โรงเรียนยกเลิกการยืนยันเองได้แล้ว ({deadline}) โปรดติดต่อสำนักงานเขตพื้นที่",
        "The school's own cancel deadline ({deadline}) has passed; ask the area office",
    ),
    ErrorCode.CONFIRMED_READ_ONLY: (
        "โรงเรียนยืนยันข้อมูลรอบนี้แล้ว ข้อมูลจึงแก้ไขไม่ได้ ต้องยกเลิกการยืนยันก่อน",
        "The school has confirmed this round, so its data is read-only; cancel the confirmation"
        " first",
    ),
    ErrorCode.CHECKLIST_BLOCKING: (
        "ยังยืนยันข้อมูลไม่ได้ มีรายการที่ต้องแก้ไข {count} รายการ โปรดดูรายการตรวจสอบก่อนยืนยัน",
        "Cannot confirm yet: {count} items must be fixed; see the pre-confirmation checklist",
    ),
    ErrorCode.CONFIRM_LOCKED: (
        "สพฐ. ระงับปุ่มยืนยันข้อมูลของโรงเรียนนี้ไว้: {reason}",
        "OBEC has suspended this school's confirm button: {reason}",
    ),
    ErrorCode.ROUND_NOT_CLOSABLE: (
        "ปิดรอบได้หลังสิ้นสุดช่วงยืนยันข้อมูล ({closes}) เท่านั้น",
        "The round can be closed only after the confirm window ends ({closes})",
    ),
    ErrorCode.ROUND_CLOSED: ("รอบนี้ปิดแล้ว", "This round is closed"),
    ErrorCode.WINDOWS_ORDER: (
        "ช่วงเวลาไม่ถูกต้อง: {detail_th}",
        "Invalid windows: {detail_en}",
    ),
    ErrorCode.NOTE_REQUIRED: ("ต้องระบุคำอธิบาย", "An explanation is required"),
    ErrorCode.NOT_A_QUERY: (
        "รายการนี้เป็นข้อผิดพลาดที่ต้องแก้ไข อธิบายแทนการแก้ไขไม่ได้",
        "This item is an error that must be fixed; it cannot be explained away",
    ),
    ErrorCode.REOPEN_PENDING: (
        "มีคำร้องที่ยื่นไว้แล้วและรอเขตพื้นที่พิจารณา (ยื่นเมื่อ {at})",
        "A request is already waiting for the area office (sent {at})",
    ),
    ErrorCode.SCHOOL_UNKNOWN: (
        "ไม่พบโรงเรียนรหัส {code} ในระบบ",
        "No school with code {code} in the system",
    ),
    ErrorCode.DUPLICATE_IN_FILE: (
        "{field_th} {value} ซ้ำกับแถวที่ {first_row} ในไฟล์เดียวกัน (ใช้แถวแรก)",
        "{field_en} {value} repeats row {first_row} of the same file (the first row is used)",
    ),
    ErrorCode.BATCH_FILE_MISMATCH: (
        "ชุดข้อมูล {batch} เคยนำเข้าด้วยไฟล์อื่น (SHA-256 ไม่ตรงกัน)",
        "Batch {batch} was loaded from a different file (SHA-256 differs)",
    ),
    ErrorCode.TOO_LONG: (
        "{field} ยาวเกิน {max} ตัวอักษร (ได้รับ {length})",
        "{field} is longer than {max} characters (got {length})",
    ),
    ErrorCode.CASE_NOT_FORWARDED: (
        "คำร้องนี้ยังไม่ได้รับการตรวจสอบและส่งต่อจากสำนักงานเขตพื้นที่",
        "This request has not yet been checked and forwarded by the area office",
    ),
    ErrorCode.CASE_ALREADY_OPEN: (
        "มีคำร้องเรื่องนี้ของนักเรียนคนนี้ที่ยังไม่ได้พิจารณาอยู่แล้ว (คำร้อง #{case_id})",
        "An open request about this for this student already exists (case #{case_id})",
    ),
    ErrorCode.REOPEN_NOT_NEEDED: (
        "โรงเรียนยังบันทึกข้อมูลได้อยู่ ไม่ต้องขอเปิดระบบ",
        "The school can still enter data; no reopening is needed",
    ),
    ErrorCode.EXPORT_PURPOSE_REQUIRED: (
        "การดาวน์โหลดข้อมูลรายบุคคลของนักเรียนโดยสำนักงานเขตพื้นที่หรือ สพฐ. ต้องระบุวัตถุประสงค์"
        " (พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล) ทุกครั้งจะถูกบันทึกไว้",
        "Downloading students' personal data as an area office or OBEC needs a stated purpose"
        " (PDPA); every download is logged",
    ),
    ErrorCode.IMPORT_FILE_EMPTY: (
        "ไฟล์ว่างเปล่า (0 ไบต์) โปรดเลือกไฟล์รายชื่อนักเรียนอีกครั้ง",
        "The file is empty (0 bytes); choose the student list again",
    ),
    ErrorCode.IMPORT_FILE_TOO_LARGE: (
        "ไฟล์มีขนาด {size} เกินขนาดสูงสุด {max} ที่นำเข้าได้ในครั้งเดียว โปรดแบ่งไฟล์แล้วนำเข้าทีละส่วน"
        " ยังไม่มีการบันทึกข้อมูลใด",
        "The file is {size}, over the {max} one upload may be; split it and import the parts."
        " Nothing was saved",
    ),
    ErrorCode.IMPORT_TOO_MANY_ROWS: (
        "ไฟล์มีข้อมูลเกิน {max} แถว (พบแถวที่ {row}) โปรดแบ่งไฟล์แล้วนำเข้าทีละส่วน ยังไม่มีการบันทึกข้อมูลใด",
        "The file has more than {max} data rows (row {row} found); split it and import the parts."
        " Nothing was saved",
    ),
    ErrorCode.IMPORT_NOT_TEXT: (
        "ไฟล์นี้ไม่ใช่ไฟล์ข้อความ CSV หรือ Excel (.xlsx) ที่อ่านได้ ยังไม่มีการบันทึกข้อมูลใด",
        "This is not a readable CSV text file or Excel (.xlsx) workbook. Nothing was saved",
    ),
    ErrorCode.IMPORT_ENCODING: (
        "อ่านตัวอักษรในไฟล์ไม่ได้ (ไม่ใช่ UTF-8 หรือ TIS-620) ที่ไบต์ {offset}"
        " โปรดบันทึกไฟล์เป็น CSV UTF-8 หรือ Excel (.xlsx) ยังไม่มีการบันทึกข้อมูลใด",
        "Cannot read the characters of the file (neither UTF-8 nor TIS-620) at byte {offset};"
        " save it as CSV UTF-8 or Excel (.xlsx). Nothing was saved",
    ),
    ErrorCode.IMPORT_FORMAT: (
        "ไม่รองรับไฟล์ {kind} โปรดบันทึกเป็น Excel (.xlsx) หรือ CSV ยังไม่มีการบันทึกข้อมูลใด",
        "{kind} files are not supported; save it as Excel (.xlsx) or CSV. Nothing was saved",
    ),
    ErrorCode.IMPORT_CELL_HUGE: (
        'แถวที่ {row} มีช่องข้อมูลยาวเกินกว่าจะอ่านได้ (อาจมีเครื่องหมายคำพูด " ไม่ครบคู่) ยังไม่มีการบันทึกข้อมูลใด',
        'Row {row} has a cell too long to read (perhaps an unbalanced quote "). Nothing was saved',
    ),
    ErrorCode.IMPORT_HEADER: (
        "แถวที่ 1 ต้องเป็นหัวตาราง 39 คอลัมน์ของ DMC (ดาวน์โหลดแบบฟอร์มนำเข้าได้จากหน้ารายชื่อนักเรียน)"
        " ไม่พบคอลัมน์: {missing} ยังไม่มีการบันทึกข้อมูลใด",
        "Row 1 must be DMC's 39-column header (download the import template from the student"
        " list); missing: {missing}. Nothing was saved",
    ),
    ErrorCode.IMPORT_NO_ROWS: (
        "ไฟล์มีแต่หัวตาราง ไม่มีข้อมูลนักเรียน",
        "The file has a header but no student rows",
    ),
    ErrorCode.XLSX_NOT_ZIP: (
        "ไฟล์ชื่อ .xlsx นี้ไม่ใช่ไฟล์ Excel จริง (อาจเปลี่ยนนามสกุลจากไฟล์ชนิดอื่น) โปรดเปิดใน Excel"
        " แล้วบันทึกเป็น .xlsx หรือ CSV ยังไม่มีการบันทึกข้อมูลใด",
        "This .xlsx file is not a real Excel workbook (perhaps renamed from another type); open"
        " it in Excel and save as .xlsx or CSV. Nothing was saved",
    ),
    ErrorCode.XLSX_ZIP_BOMB: (
        "ไฟล์ Excel นี้เมื่อขยายแล้วมีขนาด {size} (บีบอัด {ratio} เท่า) เกินกำหนด"
        " ({max}, ไม่เกิน {max_ratio} เท่า) จึงไม่เปิดอ่าน ยังไม่มีการบันทึกข้อมูลใด",
        "This workbook expands to {size} ({ratio}× compression), over the limit ({max}, at"
        " most {max_ratio}×), so it was not opened. Nothing was saved",
    ),
    ErrorCode.XLSX_XML_ENTITY: (
        "ไฟล์ Excel นี้มีการประกาศ DOCTYPE/ENTITY ใน {part} ซึ่งไฟล์ Excel ปกติไม่มี จึงไม่เปิดอ่าน"
        " ยังไม่มีการบันทึกข้อมูลใด",
        "This workbook declares a DOCTYPE/ENTITY in {part}, which normal Excel files never do, so"
        " it was not opened. Nothing was saved",
    ),
    ErrorCode.XLSX_SHEET_TOO_BIG: (
        "แผ่นงานในไฟล์ Excel ครอบคลุม {rows} แถว × {columns} คอลัมน์ เกินกำหนด ({cells} ช่อง)"
        " อาจมีข้อมูลหลงอยู่ไกลจากตาราง โปรดลบแถว/คอลัมน์ที่ไม่ใช้ ยังไม่มีการบันทึกข้อมูลใด",
        "A sheet spans {rows} rows × {columns} columns, over the limit ({cells} cells); something"
        " may sit far from the table: delete the unused rows/columns. Nothing was saved",
    ),
    ErrorCode.XLSX_BROKEN: (
        "เปิดไฟล์ Excel นี้ไม่ได้ (ไฟล์เสีย มีรหัสผ่าน หรือไม่ใช่แผ่นงาน) โปรดบันทึกใหม่เป็น .xlsx หรือ CSV"
        " ยังไม่มีการบันทึกข้อมูลใด",
        "Cannot open this workbook (damaged, password-protected or not a spreadsheet); save it"
        " again as .xlsx or CSV. Nothing was saved",
    ),
    ErrorCode.IMPORT_ROUND_MISMATCH: (
        "ขณะนี้เปิดบันทึกข้อมูลรอบที่ {open_round} ของปีการศึกษา {year} ไม่ใช่รอบที่ {round}",
        "Entry is open for round {open_round} of academic year {year}, not round {round}",
    ),
    ErrorCode.IMPORT_CONFLICT: (
        "มีการแก้ไขข้อมูลนักเรียนกลุ่มเดียวกันพร้อมกันจากที่อื่น ยังไม่มีการบันทึกข้อมูลใด โปรดนำเข้าอีกครั้ง",
        "The same students were changed elsewhere at the same time; nothing was saved. Import"
        " again",
    ),
    ErrorCode.IMPORT_SCHOOL_MISMATCH: (
        "รหัสโรงเรียน {value} ไม่ตรงกับโรงเรียนที่นำเข้า ({school}) นำเข้าได้เฉพาะนักเรียนของโรงเรียนนี้",
        "School code {value} is not the school being imported ({school}); only this school's"
        " students can be imported",
    ),
    ErrorCode.IMPORT_DUPLICATE_ID: (
        "เลขประจำตัวนี้ซ้ำกับแถวที่ {first} ของไฟล์{same_th} จึงไม่นำเข้าแถวนี้ (ใช้แถวที่ {first})",
        "This ID already appears at row {first}{same_en}; this row is not imported (row {first}"
        " is)",
    ),
    ErrorCode.IMPORT_DUPLICATE_STUDENT_NO: (
        "เลขประจำตัวนักเรียน {student_no} ซ้ำกับแถวที่ {first} ของไฟล์",
        "Student number {student_no} is already used at row {first} of the file",
    ),
    ErrorCode.IMPORT_IDENTITY_MISMATCH: (
        "เลขประจำตัวนี้เป็นของบุคคลที่มี{fields_th}ไม่ตรงกับในไฟล์ โปรดตรวจสอบเลขประจำตัว"
        " (หากข้อมูลในระบบผิด ให้รับย้ายเข้าก่อนแล้วแก้ไข หรือยื่นคำร้องขอแก้ไขเลขประจำตัว)",
        "This ID belongs to a person whose {fields_en} differ from the file; check the ID (if the"
        " record is wrong, transfer the student in first and correct it, or request an ID"
        " correction)",
    ),
    ErrorCode.IMPORT_TRACKED_318: (
        "สถานะ 3.1.8 (ยังไม่สามารถจำหน่ายได้) บันทึกได้ที่เมนู 3.1.8 เท่านั้น ไม่ใช่จากไฟล์นำเข้า"
        " (ในไฟล์: {file}, ในระบบ: {current})",
        "The 3.1.8 flag is set in the 3.1.8 menu only, not by an import (file: {file}, system:"
        " {current})",
    ),
    # issue 9 (reliability)
    ErrorCode.CSRF_FAILED: (
        "คำขอนี้ไม่มีรหัสยืนยันความปลอดภัยของฟอร์ม (CSRF) ที่ถูกต้อง กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง"
        " (โปรแกรมที่เรียก API ให้ใช้ Authorization: Bearer แทนคุกกี้)",
        "This request lacks a valid form security token (CSRF); reload the page and try again"
        " (programs calling the API should use Authorization: Bearer instead of the cookie)",
    ),
    ErrorCode.DB_UNAVAILABLE: (
        "ระบบฐานข้อมูลไม่พร้อมให้บริการชั่วคราว ข้อมูลที่บันทึกสำเร็จแล้วไม่สูญหาย"
        " กรุณาลองใหม่ในอีก {retry_after} วินาที (รายการที่ไม่ได้รับการยืนยันว่าบันทึกแล้ว ให้ทำซ้ำ)",
        "The database is temporarily unavailable. Nothing already saved is lost; please try again"
        " in {retry_after} seconds (repeat anything that was not confirmed as saved)",
    ),
    # nutrition, per-head budget, certificate (issue 7)
    ErrorCode.NUTRITION_REFERENCE_INVALID: (
        "ไฟล์เกณฑ์อ้างอิง {source} ไม่ถูกต้อง (บรรทัด {line}): {reason_th}",
        "The growth reference file {source} is invalid (line {line}): {reason_en}",
    ),
    ErrorCode.NUTRITION_REFERENCE_UNKNOWN: (
        "ไม่รู้จักเกณฑ์อ้างอิง '{key}' (ที่มี: {known})",
        "Unknown growth reference '{key}' (available: {known})",
    ),
    ErrorCode.BUDGET_RATES_INVALID: (
        "ไฟล์อัตราเงินอุดหนุน {source} ไม่ถูกต้อง ({where}): {reason_th}",
        "The subsidy rate file {source} is invalid ({where}): {reason_en}",
    ),
    ErrorCode.BUDGET_NO_RATES: (
        "ไม่มีตารางอัตราเงินอุดหนุนที่มีผล ณ วันที่ {date}",
        "No subsidy rate table is in effect on {date}",
    ),
    ErrorCode.BUDGET_ROUND_NOT_FUNDED: (
        "รอบที่ {round} ไม่ใช้จัดสรรเงินอุดหนุนรายหัวตามตารางอัตรา {table}",
        "Round {round} does not drive a per-head allocation under the rate table {table}",
    ),
    # issue 8: load shedding (dmc/perf)
    ErrorCode.SERVER_BUSY: (
        "ขณะนี้มีผู้ใช้งานจำนวนมาก ระบบยังไม่ได้ดำเนินการตามคำขอนี้ โปรดลองใหม่ในอีก {retry_after} วินาที"
        " (ข้อมูลที่บันทึกสำเร็จแล้วไม่สูญหาย)",
        "The system is busy and did not carry out this request; please try again in"
        " {retry_after} seconds (nothing already saved is lost)",
    ),
    ErrorCode.RATE_LIMITED: (
        "มีคำขอจาก{who_th}ถี่เกินไป โปรดรอ {retry_after} วินาทีแล้วลองใหม่ (คำขอนี้ยังไม่ได้ดำเนินการ)",
        "Too many requests from {who_en}; wait {retry_after} seconds and try again (this request"
        " was not carried out)",
    ),
    # issue 9: authentication, step-up, PDPA purposes
    ErrorCode.LOGIN_THROTTLED: (
        "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป ระบบระงับการเข้าสู่ระบบชั่วคราว"
        " โปรดลองใหม่หลังเวลา {until} น. (อีกประมาณ {seconds} วินาที)",
        "Too many failed logins; logging in is paused. Try again after {until}"
        " (in about {seconds} seconds)",
    ),
    ErrorCode.TOKEN_THROTTLED: (
        "ใช้โทเคน API ที่ไม่ถูกต้องหลายครั้งเกินไป โปรดลองใหม่หลังเวลา {until} น. (อีกประมาณ {seconds} วินาที)",
        "Too many invalid API tokens; try again after {until} (in about {seconds} seconds)",
    ),
    ErrorCode.STEP_UP_REQUIRED: (
        "การรับรองข้อมูลต้องยืนยันตัวตนซ้ำ โปรดกรอกรหัสผ่านของท่านอีกครั้ง (ยืนยันแล้วใช้ได้ {minutes} นาที)",
        "Certifying needs you to confirm your identity: enter your password again"
        " (valid for {minutes} minutes)",
    ),
    ErrorCode.STEP_UP_FAILED: (
        "รหัสผ่านที่กรอกเพื่อยืนยันตัวตนไม่ถูกต้อง ยังไม่ได้รับรองข้อมูล",
        "The password you entered to confirm your identity is wrong; nothing was certified",
    ),
    ErrorCode.PASSWORD_WRONG: (
        "รหัสผ่านปัจจุบันไม่ถูกต้อง",
        "The current password is wrong",
    ),
    ErrorCode.ACCESS_PURPOSE_REQUIRED: (
        "การดูข้อมูลส่วนบุคคลของนักเรียนโดยเขตพื้นที่หรือ สพฐ. ต้องระบุวัตถุประสงค์"
        " (พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล) เลือกรหัสวัตถุประสงค์ {codes}"
        " (99 = อื่น ๆ ต้องระบุรายละเอียด)",
        "Viewing students' personal data as an area office or OBEC needs a stated purpose"
        " (PDPA): choose a purpose code {codes} (99 = other, with a description)",
    ),
    # issue 5: end of year (L8) and rollover
    ErrorCode.YEAR_RESULT_REQUIRED: (
        "เลือกผลการเรียนสิ้นปี: สอบได้ หรือ สอบตก (เมนู 3.2.2)",
        "Choose the year-end result: passed or failed (menu 3.2.2)",
    ),
    ErrorCode.YEARS_STUDIED_RANGE: (
        "จำนวนปีที่เรียนต้องเป็นจำนวนเต็ม {low}–{high} ปี (ได้รับ {value})",
        "Years studied must be a whole number {low}–{high} (got {value})",
    ),
    ErrorCode.EVALUATIONS_REQUIRED: (
        "นักเรียนซ้ำชั้นต้องระบุเกณฑ์การประเมินที่ไม่ผ่านอย่างน้อยหนึ่งข้อ ห้ามเว้นว่าง (เมนู 3.2.2.1)",
        "A repeater needs at least one evaluation not passed; it may not be blank (menu 3.2.2.1)",
    ),
    ErrorCode.DESTINATION_REQUIRED: (
        "ผู้จบการศึกษาต้องระบุการศึกษาต่อ/ปลายทาง ห้ามเว้นว่าง (เมนู 3.2.2.2)",
        "A graduate needs a destination; it may not be blank (menu 3.2.2.2)",
    ),
    ErrorCode.YEAR_END_TRACKED: (
        "นักเรียน 3.1.8 ไม่ได้เข้าสอบปลายภาค จึงไม่บันทึกผลสิ้นปี หากนักเรียนเข้าสอบแล้ว ให้ยกเลิกสถานะ 3.1.8 ก่อน",
        "A 3.1.8 student did not sit the final exam, so no year-end result is recorded; if the"
        " student did sit it, remove the 3.1.8 flag first",
    ),
    ErrorCode.NOT_REPEATER: (
        "เมนู 3.2.2.1 ใช้กับนักเรียนที่สอบตก (ซ้ำชั้น) เท่านั้น แก้ผลในเมนู 3.2.2 ก่อนหากผิด",
        "Menu 3.2.2.1 is only for students who failed (repeaters); correct the result in menu"
        " 3.2.2 first if it is wrong",
    ),
    ErrorCode.NOT_GRADUATE: (
        "เมนู 3.2.2.2 ใช้กับนักเรียนที่สอบได้ในชั้นสุดท้ายของระดับ (ป.6 ม.3 ม.6 ปวช.3) เท่านั้น",
        "Menu 3.2.2.2 is only for students who passed a terminal grade (P6, M3, M6, Voc3)",
    ),
    ErrorCode.ROLLOVER_NOT_CLOSED: (
        "ยังเลื่อนชั้นขึ้นปีการศึกษา {to_year} ไม่ได้: ต้องปิดรอบสิ้นปีการศึกษา {year} (รอบ 3) ก่อน",
        "Rollover into {to_year} cannot start until round 3 (end of year) of {year} is closed",
    ),
    ErrorCode.YEAR_END_HEADER: (
        "แถวแรกต้องเป็นหัวตารางผลการเรียนสิ้นปี (ดาวน์โหลดแบบฟอร์มได้จากหน้าสิ้นปีการศึกษา)"
        " ไม่พบคอลัมน์: {missing} ยังไม่มีการบันทึกข้อมูลใด",
        "The first row must be the year-end results header (download the workbook from the end"
        " of year page); missing: {missing}. Nothing was saved",
    ),
    ErrorCode.YEAR_END_STUDENT_UNKNOWN: (
        "ไม่พบนักเรียนเลขประจำตัว {value} ที่กำลังศึกษาในโรงเรียนนี้ ปีการศึกษา {year} ตรวจสอบเลขประจำตัวนักเรียน",
        "No student number {value} is studying at this school in {year}; check the student number",
    ),
    ErrorCode.ROLLOVER_RUNNING: (
        "การเลื่อนชั้นปีการศึกษา {year} กำลังทำงานอยู่ (เริ่มเมื่อ {at}) รอให้เสร็จก่อน",
        "The rollover of {year} is already running (started {at}); wait for it to finish",
    ),
    # issue 7: reports
    ErrorCode.JOB_NOT_DONE: (
        "รายงานยังสร้างไม่เสร็จ กรุณารอจนความคืบหน้าถึง 100% แล้วดาวน์โหลดอีกครั้ง",
        "The report is not finished yet; wait until its progress reaches 100% and download again",
    ),
    # the background job queue
    ErrorCode.JOB_FAILED: (
        "งานเบื้องหลังทำไม่สำเร็จเพราะเกิดข้อผิดพลาดในระบบ ยังไม่มีการบันทึกข้อมูลใด กรุณาส่งใหม่อีกครั้ง"
        " หากยังไม่สำเร็จให้แจ้งผู้ดูแลระบบ",
        "The background job failed because of a system error; nothing was saved. Send it again,"
        " and tell the administrators if it keeps failing",
    ),
    ErrorCode.JOB_ABANDONED: (
        "งานเบื้องหลังหยุดทำงานกลางคันหลายครั้ง (เครื่องให้บริการเริ่มใหม่) ระบบจึงยกเลิกงานนี้ กรุณาส่งใหม่อีกครั้ง",
        "The background job was interrupted several times (the server restarted) and was given"
        " up; send it again",
    ),
    ErrorCode.JOB_ROLE_REVOKED: (
        "สิทธิ์ของผู้ส่งงานนี้ถูกยกเลิกก่อนที่งานจะเริ่ม ระบบจึงไม่ได้ทำงานนี้และไม่ได้บันทึกข้อมูลใด",
        "The role of the user who sent this job was revoked before it ran; nothing was done",
    ),
}


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_message(code: ErrorCode, params: dict[str, Any], language: str | None = None) -> str:
    th, en = MESSAGES[code]
    template = en if (language or lang()) == "en" else th
    return template.format_map(_SafeDict(params))


@dataclass
class DmcError(Exception):
    """A business-rule refusal. ``fields`` maps a field name to error codes/messages for forms."""

    code: ErrorCode
    params: dict[str, Any]
    http_status: int = 400
    fields: dict[str, list[str]] | None = None

    def __init__(
        self,
        code: ErrorCode,
        http_status: int = 400,
        fields: dict[str, list[str]] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.http_status = http_status
        self.fields = fields
        self.params = params

    @property
    def message(self) -> str:
        return render_message(self.code, self.params)

    def message_in(self, language: str) -> str:
        return render_message(self.code, self.params, language)

    def __str__(self) -> str:
        return f"[{self.code.value}] {self.message_in('en')}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "fields": self.fields or {}}


def not_found() -> DmcError:
    return DmcError(ErrorCode.NOT_FOUND, http_status=404)


def not_in_scope() -> DmcError:
    return DmcError(ErrorCode.NOT_IN_SCOPE, http_status=403)


def conflict(code: ErrorCode, **params: Any) -> DmcError:
    return DmcError(code, http_status=409, **params)


class Collector:
    """Run several checks, gather every refusal, then raise one error (or none).

    One refusal is re-raised as itself (its specific code); several become VALIDATION with the
    per-field messages merged and the individual errors kept in ``errors``.
    """

    def __init__(self) -> None:
        self.errors: list[DmcError] = []

    def check(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DmcError as exc:
            # a combined error from a nested collector contributes its parts
            self.errors.extend(getattr(exc, "errors", None) or [exc])
            return None

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        merged: dict[str, list[str]] = {}
        for err in self.errors:
            for name in err.fields or {"__all__": []}:
                merged.setdefault(name, []).append(err.message)
        if len(self.errors) == 1:
            err = self.errors[0]
            err.fields = merged
            raise err
        combined = DmcError(ErrorCode.VALIDATION, http_status=400, fields=merged)
        combined.errors = self.errors  # type: ignore[attr-defined]
        raise combined
