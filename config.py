"""Settings of Sdelka CRM. Every value comes from an environment variable
with a default that suits a single-machine SQLite install; README.md lists
them all."""
import os
import secrets

from flask_appbuilder.const import AUTH_DB

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.environ.get("INSTANCE_DIR", os.path.join(BASE_DIR, "instance"))


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def _secret_key():
    """SECRET_KEY from the environment, else a random one kept in instance/
    so that sessions survive restarts without a secret in the repository."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = os.path.join(INSTANCE_DIR, "secret_key")
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except FileNotFoundError:
        os.makedirs(INSTANCE_DIR, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "sdelka.db")
)
SQLALCHEMY_TRACK_MODIFICATIONS = False
# SQLite: seconds a write waits for another connection's write to finish
# before it gives up (the page then says the server is busy, 503). Readers
# never wait: the database runs in WAL mode (app/__init__.py). Keep it well
# below gunicorn's 30 s worker timeout.
SQLITE_BUSY_TIMEOUT = float(os.environ.get("SQLITE_BUSY_TIMEOUT") or 10)

APP_NAME = os.environ.get("APP_NAME", "Сделка CRM")
APP_TIMEZONE = os.environ.get("APP_TIMEZONE", "Europe/Moscow")
# The office's working day ends at this time (ЧЧ:ММ, office time): the task
# forms' quick deadlines («Сегодня», «Завтра», «3 дня», «Неделя») set «Срок»
# to that day at this hour.
TASK_DAY_ENDS = os.environ.get("TASK_DAY_ENDS", "18:00")
# Statistics: completed tasks of these types (and their sub-types) are the
# "calls" of the monthly plans; comma-separated task type names.
STATS_CALL_TASK_TYPES = os.environ.get("STATS_CALL_TASK_TYPES", "Звонок")

# Alembic owns the schema; FAB must never create tables itself.
FAB_CREATE_DB = False
# Permissions are synchronised on start (and by `flask sdelka init`);
# migration commands switch this off because the tables may not exist yet.
FAB_UPDATE_PERMS = env_bool("FAB_UPDATE_PERMS", True)
FAB_SECURITY_MANAGER_CLASS = "app.security.SdelkaSecurityManager"
FAB_API_SWAGGER_UI = True
FAB_ADD_SECURITY_VIEWS = True
FAB_ADD_SECURITY_PERMISSION_VIEW = False
FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False

AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False

# Login protection: per-IP rate limit (FAB + Flask-Limiter) and a per-account
# lock after repeated failures (ours; FAB only counts failures).
AUTH_RATE_LIMITED = env_bool("AUTH_RATE_LIMITED", True)
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute")
# Where the counts are kept. "database://" (the default): a table of the
# app's own database, shared by every gunicorn worker and every machine on
# it (app/services/ratelimits.py). "redis://host:6379" works too;
# "memory://" counts per process (each worker lets the full limit through).
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "database://")
# A shared store that fails (Redis down) counts per process meanwhile instead
# of failing every sign-in with a 500.
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = env_bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
# Proxies in front of the app that set X-Forwarded-For/-Proto/-Host (nginx: 1).
# 0 believes no such header: without a proxy anyone could send one and pose
# as another address to the per-address limits.
PROXY_COUNT = env_int("PROXY_COUNT", 0)
LOGIN_LOCK_ATTEMPTS = env_int("LOGIN_LOCK_ATTEMPTS", 5)
LOGIN_LOCK_MINUTES = env_int("LOGIN_LOCK_MINUTES", 15)

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = os.environ.get("SESSION_COOKIE_SAMESITE", "Lax")
PERMANENT_SESSION_LIFETIME = env_int("SESSION_LIFETIME_SECONDS", 12 * 3600)

BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "ru")
BABEL_DEFAULT_TIMEZONE = APP_TIMEZONE
BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "app", "translations")
LANGUAGES = {
    "ru": {"flag": "ru", "name": "Русский"},
    "en": {"flag": "gb", "name": "English"},
}

# Files attached to notes. Several servers must share this folder.
UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", os.path.join(INSTANCE_DIR, "uploads")) + "/"
FILE_ALLOWED_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "odt", "ods", "txt", "csv",
                           "png", "jpg", "jpeg", "zip")
MAX_CONTENT_LENGTH = env_int("MAX_UPLOAD_MB", 20) * 1024 * 1024
# Largest file attached to a note, in MB (the form says so in Russian); a
# request above MAX_UPLOAD_MB is refused before the form sees it (page 413).
NOTE_FILE_MAX_MB = env_int("NOTE_FILE_MAX_MB", 20)
# The company's logo, stamp and signatures (PNG or JPEG), each at most this.
COMPANY_IMAGE_MAX_MB = env_int("COMPANY_IMAGE_MAX_MB", 1)
# CSV imports: largest file, and the size above which the import runs in the
# background (progress bar, report in the «Импорты» journal).
IMPORT_MAX_MB = env_int("IMPORT_MAX_MB", 200)
IMPORT_BACKGROUND_BYTES = env_int("IMPORT_BACKGROUND_KB", 1024) * 1024
# Start a background import in a thread of the process that took the upload
# (the scheduler's process_pending picks up anything left queued).
IMPORT_THREAD = env_bool("IMPORT_THREAD", True)
# A running import whose worker has not written its progress for this long
# is taken to be abandoned (its process died): it is queued again, and
# failed with a message once it has been claimed IMPORT_MAX_ATTEMPTS times.
IMPORT_LEASE_SECONDS = env_int("IMPORT_LEASE_SECONDS", 300)
IMPORT_MAX_ATTEMPTS = env_int("IMPORT_MAX_ATTEMPTS", 2)
# Stored uploads and files of bad rows are deleted this many days after the
# import finished (the journal entry stays); 0 keeps them.
IMPORT_KEEP_DAYS = env_int("IMPORT_KEEP_DAYS", 30)
# Rows of the personal data access log are deleted this many days after
# they were written (the «personal-data-log» job); 0 keeps them.
PERSONAL_DATA_LOG_DAYS = env_int("PERSONAL_DATA_LOG_DAYS", 365)
# Rows of the journal of failed sign-ins are deleted this many days after
# the attempt (the «sign-in-failures» job); 0 keeps them.
SIGN_IN_FAILURE_DAYS = env_int("SIGN_IN_FAILURE_DAYS", 90)
# A person (client) with no task, note, deal, application, invoice, action
# or change for this many days is listed on «Истёк срок хранения» for
# review and erasure (services/erasure.py).
PERSONAL_DATA_RETENTION_DAYS = env_int("PERSONAL_DATA_RETENTION_DAYS", 1095)

APP_THEME = ""
# The app's log (stderr, each line with the request id and the user: app/logs.py).
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

# --- Notifications, e-mail and scheduled jobs (app/jobs/) ---
# E-mail is sent only when MAIL_SERVER is set.
MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
MAIL_PORT = env_int("MAIL_PORT", 25)
MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)  # STARTTLS
MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)  # SMTPS
MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Сделка CRM <noreply@localhost>")
MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)
# Links in e-mails point here.
APP_BASE_URL = os.environ.get("APP_BASE_URL", "http://127.0.0.1:5000")

# The scheduler runs in the gunicorn workers (gunicorn.conf.py) and in
# `python run.py`; never in tests or `flask` commands. A database lease
# lets each run execute once however many processes run it.
JOBS_ENABLED = env_bool("JOBS_ENABLED", True)
JOBS_DISABLED = os.environ.get("JOBS_DISABLED", "")  # e.g. "digest,overdue"
# "name=schedule;name=schedule": a crontab line ("0 8 * * *", in APP_TIMEZONE)
# or "every N seconds|minutes|hours".
JOBS_SCHEDULES = os.environ.get("JOBS_SCHEDULES", "")
JOBS_LEASE_SECONDS = env_int("JOBS_LEASE_SECONDS", 600)
# Overdue tasks older than this are not announced (the list still shows them).
JOBS_OVERDUE_LOOKBACK_DAYS = env_int("JOBS_OVERDUE_LOOKBACK_DAYS", 7)
# Most tasks one "print task list" PDF holds (xhtml2pdf renders ~300 in 5 s;
# 1000 pass its 20 s limit on a busy 2-core machine).
TASK_PRINT_LIMIT = env_int("TASK_PRINT_LIMIT", 300)
# Web-to-lead forms (public endpoint /webform/<key>): a master switch, the
# per-address rate limit of submissions and the largest accepted body.
WEBFORMS_ENABLED = env_bool("WEBFORMS_ENABLED", True)
WEBFORM_RATE_LIMIT = os.environ.get("WEBFORM_RATE_LIMIT", "5 per minute")
WEBFORM_MAX_BYTES = env_int("WEBFORM_MAX_BYTES", 16 * 1024)
