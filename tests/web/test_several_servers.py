"""Several servers behind one address (README «Several servers», deploy/).

Two real gunicorn servers, started as `make run` starts them (one worker,
two threads each here), listen on two loopback ports. They share what the
deployment shares: one PostgreSQL schema, one Redis database for the rate
limits, one SECRET_KEY and one uploads folder; each has an instance folder
of its own. Through real HTTP:

- a session signed in on one server works on the other (and a form token
  of one is accepted by the other);
- the sign-in limit counts the attempts made on both servers together;
- a scheduled job runs once per scheduled time, though both schedulers fire;
- a file attached to a note on one server downloads from the other;
- an import started on one server, which is killed (SIGKILL, master and
  worker) in the middle of it, is finished by the other, every row once;
- deploy/nginx.conf, in front of both (when nginx is installed), passes
  the request id, HTTPS and the address on, refuses bodies above the
  upload limits and sends the requests of the killed server to the other.

Needs TEST_DATABASE_URL and Redis (TEST_REDIS_URL, default database 15 of
127.0.0.1:6379, one lower per xdist worker, emptied before and after), and nginx and openssl for the
last test. Without them the tests are skipped with the reason; in CI
(CI=true) they fail instead.

The tests run in this file's order: the import test kills a server, and
the nginx test finds it dead."""
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[2]


def _worker_redis_url():
    """TEST_REDIS_URL's database, one lower per pytest-xdist worker: two
    workers' clusters count sign-ins under the same key (one address, one
    endpoint) and flush the database, so they must not share one."""
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
    prefix, number = base.rsplit("/", 1)
    return f"{prefix}/{int(number) - worker}"


REDIS_URL = _worker_redis_url()
ADMIN_PASSWORD = "Several-servers-1"
SIGN_IN_LIMIT = 5
IMPORT_ROWS = 20000
START_SECONDS = 60
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ALMA = "Дата;Фамилия;Имя;Отчество;регион;город;сумма;телефон;дата рождения;статус;комментарии"

pytestmark = pytest.mark.timeout(180)


def _unavailable(reason):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} — CI must run the several-servers test", pytrace=False)
    pytest.skip(reason)


def _redis():
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        connection.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis does not answer at {REDIS_URL} ({exc})")
    return connection


def _wait(what, check, seconds, every=0.05):
    """Poll ``check`` until it returns something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(every)


# --- HTTP as a browser does it -------------------------------------------------------


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies (one jar: both servers are 127.0.0.1, as behind one address
    they are one site), CSRF tokens from the pages, no redirects followed."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        # nginx's certificate in the last test is made up on the spot.
        unverified = ssl.create_default_context()
        unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects,
            urllib.request.HTTPSHandler(context=unverified))

    def request(self, method, url, body=None, headers=None):
        headers = dict(headers or {})
        if method == "POST":
            # As a browser's form: over HTTPS the app checks it (Flask-WTF).
            headers.setdefault("Referer", url)
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read())

    def get(self, url):
        return self.request("GET", url)

    def token(self, url):
        """The form token of the page at ``url``."""
        page = self.get(url)
        match = TOKEN.search(page.text)
        assert match, f"no form token on {url}: {page.status} {page.text[:500]}"
        return match.group(1)

    def post(self, url, fields, files=None):
        if not files:
            body = urllib.parse.urlencode(fields).encode()
            return self.request("POST", url, body,
                                {"Content-Type": "application/x-www-form-urlencoded"})
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n".encode())
        for name, (filename, content) in files.items():
            # As browsers send it: the name in UTF-8, quotes escaped.
            quoted = filename.replace('"', "%22")
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{quoted}"\r\n'
                         "Content-Type: application/octet-stream\r\n\r\n".encode()
                         + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", url, b"".join(parts),
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def sign_in(self, base, username="admin", password=ADMIN_PASSWORD):
        return self.post(base + "/login/", {"username": username, "password": password,
                                            "csrf_token": self.token(base + "/login/")})


PAGE = "/clients/list/"  # a page for signed-in users only


def signed_in(answer):
    return answer.status == 200 and "/logout" in answer.text


# --- the servers ----------------------------------------------------------------------------


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One gunicorn, as `make run` starts it, in a process group of its own."""

    def __init__(self, name, env, folder):
        self.name = name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"{name}.log"
        instance = folder / f"instance-{name}"
        instance.mkdir()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--preload",
                 "--workers", "1", "--threads", "2", "--bind", f"127.0.0.1:{self.port}",
                 "--log-level", "info", "run:app"],
                cwd=ROOT, env={**env, "INSTANCE_DIR": str(instance)}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def log(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def healthy(self):
        if self.process.poll() is not None:
            raise AssertionError(f"server {self.name} exited with {self.process.returncode}:\n"
                                 + self.log()[-3000:])
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                return json.load(response)
        except (OSError, ValueError):
            return None

    def runs(self, pid):
        """Is ``pid`` a process of this server (its master or a worker)?"""
        try:
            return os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return False

    def kill(self):
        """SIGKILL to the master and its worker at once: nothing runs their exit hooks."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self, wait=True):
        """TERM, as systemd stops a unit; KILL after 10 s."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            if wait:
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.kill()


def _migrate(url):
    """Migrate the schema (`flask db upgrade`) and log every job lease taken
    (a trigger on job_lease). Returns the app that did it."""
    import flask_migrate

    from app import db
    from tests.conftest import make_app

    # Role synchronisation (_populate) commits a thousand times: not waiting
    # for the disk at each commit saves much of its time (this app only).
    app = make_app(url + "%20-csynchronous_commit%3Doff")
    with app.app_context():
        flask_migrate.upgrade()
        db.session.execute(text("""
            CREATE TABLE lease_log (name text, slot timestamp, holder text);
            CREATE FUNCTION lease_log() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO lease_log VALUES (NEW.name, NEW.slot, NEW.holder);
                RETURN NEW;
            END $$;
            CREATE TRIGGER lease_taken AFTER INSERT OR UPDATE ON job_lease FOR EACH ROW
                WHEN (NEW.lease_until IS NOT NULL) EXECUTE FUNCTION lease_log();
        """))
        db.session.commit()
        db.session.remove()
    return app


def _populate(app):
    """The roles, the dictionaries and an admin, as `flask sdelka init`
    makes them, and a client for the notes; returns the client's id."""
    from app import db
    from app.models import Client
    from app.security import ADMIN, sync_roles
    from app.services.seed import seed_dictionaries

    with app.app_context():
        sm = app.appbuilder.sm
        sync_roles(sm)
        seed_dictionaries(db.session)
        db.session.commit()
        admin = sm.add_user(username="admin", first_name="Админ", last_name="Серверов",
                            email="admin@example.com", role=sm.find_role(ADMIN),
                            password=ADMIN_PASSWORD)
        client = Client(name="Клиент двух серверов", responsible_id=admin.id)
        db.session.add(client)
        db.session.commit()
        client_id = client.id
        db.session.remove()
        db.engine.dispose()
    return client_id


@pytest.fixture(scope="module")
def cluster():
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        _unavailable("TEST_DATABASE_URL is not set: several servers need PostgreSQL")
    redis = _redis()
    redis.flushdb()
    from app.jobs import load as load_jobs
    from tests.conftest import _postgres_schema

    url, drop = _postgres_schema()
    folder = Path(tempfile.mkdtemp(prefix="sdelka-servers-"))
    servers = []
    try:
        app = _migrate(url)
        shared = folder / "shared-uploads"
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("TEST_", "PYTEST_"))}
        env.update({
            "DATABASE_URL": url,
            "SECRET_KEY": uuid.uuid4().hex * 2,
            "UPLOAD_FOLDER": str(shared),
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "AUTH_RATE_LIMIT": f"{SIGN_IN_LIMIT} per minute",
            "FAB_UPDATE_PERMS": "False",
            "JOBS_ENABLED": "True",
            "JOBS_SCHEDULES": "imports=every 2 seconds",
            "JOBS_DISABLED": ",".join(sorted(set(load_jobs()) - {"imports"})),
            "JOBS_LEASE_SECONDS": "10",
            "IMPORT_BACKGROUND_KB": "1",
            "IMPORT_LEASE_SECONDS": "2",
            "IMPORT_THREAD": "True",
        })
        # The servers start (they need the schema, not the roles) while the
        # roles are made: the slowest step of all.
        servers = [Server("a", env, folder), Server("b", env, folder)]
        client_id = _populate(app)
        for server in servers:
            _wait(f"server {server.name} to answer /health", server.healthy, START_SECONDS,
                  every=0.2)
        engine = create_engine(url)
        yield {"a": servers[0], "b": servers[1], "engine": engine, "redis": redis,
               "uploads": shared, "client_id": client_id}
        engine.dispose()
    finally:
        for server in servers:
            server.stop(wait=False)
        for server in servers:
            server.stop()
        drop()
        redis.flushdb()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(cluster):
    """The admin's browser, signed in on server A."""
    user = Browser()
    assert user.sign_in(cluster["a"].url).status == 302
    return user


# --- the checks, in order -------------------------------------------------------------------


def test_a_session_signed_in_on_one_server_works_on_the_other(cluster):
    a, b = cluster["a"].url, cluster["b"].url
    user = Browser()
    assert not signed_in(user.get(b + PAGE))
    answer = user.sign_in(a)
    assert answer.status == 302, answer.text[:1000]
    assert signed_in(user.get(a + PAGE))
    assert signed_in(user.get(b + PAGE))  # the session cookie B never issued
    # The jar is shared as it is behind one address; the cookie itself
    # is what carries the session: a copy of it alone signs in on B.
    cookie = "; ".join(f"{c.name}={c.value}" for c in user.jar)
    assert signed_in(Browser().request("GET", b + PAGE, headers={"Cookie": cookie}))
    user.get(b + "/logout/")
    assert not signed_in(user.get(a + PAGE))


def test_the_sign_in_limit_counts_on_both_servers(cluster):
    a, b, redis = cluster["a"].url, cluster["b"].url, cluster["redis"]
    redis.flushdb()  # counts of the sign-ins before
    try:
        answers = []
        for attempt in range(SIGN_IN_LIMIT):
            base = (a, b)[attempt % 2]
            answers.append(Browser().sign_in(base, "nobody", "wrong").status)
        assert 429 not in answers, answers
        for base in (a, b):
            refused = Browser().sign_in(base, "nobody", "wrong")
            assert refused.status == 429, (base, refused.status)
            assert "Слишком много попыток" in refused.text
        # Even the right password waits: the limit is per address.
        assert Browser().sign_in(b).status == 429
        keys = [k.decode() for k in redis.keys("*AuthDBView.login*")]
        assert len(keys) == 1 and int(redis.get(keys[0])) == SIGN_IN_LIMIT + 3, keys
    finally:
        redis.flushdb()  # the next tests sign in from the same address
    assert Browser().sign_in(a).status == 302


_LOGGED = re.compile(r"Job imports: (started by (\S+)|skipped, another process has it) "
                     r"\(slot ([^)]+)\)")


def test_a_scheduled_job_runs_once_though_both_servers_fire_it(cluster):
    a, b, engine = cluster["a"], cluster["b"], cluster["engine"]
    for server in (a, b):
        assert server.healthy()["jobs"]["scheduler"] == "running", server.name

    def logged():
        """{slot: {server: {"ran"} or {"skipped"}}} of the slots both servers logged."""
        seen = defaultdict(dict)
        for server in (a, b):
            for match in _LOGGED.finditer(server.log()):
                seen[match.group(3)].setdefault(server.name, set()).add(
                    "ran" if match.group(2) else "skipped")
        both = {slot: by for slot, by in seen.items() if len(by) == 2}
        return both if len(both) >= 3 else None

    both = _wait("both servers to fire the imports job three times", logged, 30, every=0.2)
    # Each time, one server ran the run and the other skipped it.
    for slot, by in both.items():
        assert sorted("+".join(sorted(outcome)) for outcome in by.values()) == [
            "ran", "skipped"], (slot, by)
    # The database agrees: one lease per scheduled time, never two.
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT slot, holder FROM lease_log WHERE name = 'imports'")).all()
    assert len(rows) >= 3 and len(rows) == len({slot for slot, _ in rows}), rows


def test_a_file_uploaded_on_one_server_downloads_from_the_other(cluster, browser):
    from app.models import Note

    a, b, engine = cluster["a"].url, cluster["b"].url, cluster["engine"]
    content = os.urandom(3000) + "Договор".encode()
    note_text = f"Файл двух серверов {uuid.uuid4().hex[:8]}"
    # The form's token comes from server B, the upload goes to server A.
    answer = browser.post(a + "/notes/add",
                          {"client": str(cluster["client_id"]), "text": note_text,
                           "csrf_token": browser.token(b + "/notes/add")},
                          files={"file": ("Договор поставки.pdf", content)})
    assert answer.status == 302, answer.text[:2000]
    with engine.connect() as connection:
        stored = connection.scalar(select(Note.file).where(Note.text == note_text))
    assert stored and stored.endswith("Договор поставки.pdf")
    assert (cluster["uploads"] / stored[:32]).read_bytes() == content
    download = browser.get(f"{b}/notes/download/{urllib.parse.quote(stored)}")
    assert download.status == 200, download.text[:500]
    assert download.body == content


def _alma_file(surname, rows):
    lines = [ALMA]
    for i in range(rows):
        lines.append(f"15.01.2026;{surname};Иван{i};Петрович;Московская область;Подольск;"
                     f"\"150 000,00\";+7903{i:07d};02.03.1985;В обработке;строка {i}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def _pid(worker):
    """The process id in an import's worker name (host:pid:thread:kind)."""
    return int(worker.split(":")[-3])


def test_an_import_whose_server_is_killed_is_finished_by_the_other(cluster, browser):
    from app.models import Client, ImportJob

    servers, engine = (cluster["a"], cluster["b"]), cluster["engine"]
    a = servers[0].url
    surname = "Двухсерверов" + uuid.uuid4().hex[:6]
    uploaded = browser.post(a + "/import/clients/",
                            {"csrf_token": browser.token(a + "/import/clients/")},
                            files={"file": ("alma.csv", _alma_file(surname, IMPORT_ROWS))})
    assert uploaded.status == 302, uploaded.text[:2000]
    job_id = int(re.search(r"/import/job/(\d+)/", uploaded.headers["Location"]).group(1))

    def job():
        with engine.connect() as connection:
            return connection.execute(select(ImportJob).where(ImportJob.id == job_id)).one()

    assert job().entity == "almacrm"
    form = {f"map_{i}": name or "" for i, name in enumerate(json.loads(job().options)["mapping"])}
    form.update(on_duplicate="skip", mode="all", action="run",
                csrf_token=browser.token(f"{a}/import/job/{job_id}/"))
    started = browser.post(f"{a}/import/job/{job_id}/", form)
    assert started.status == 302, started.text[:2000]

    def under_way():
        row = job()
        assert row.status in ("queued", "running"), f"the import ended before the kill: {row}"
        if row.status != "running":
            return None
        try:
            progress = json.loads(Path(row.stored_path + ".progress.json").read_text())
        except (OSError, ValueError):
            return None
        return row if progress.get("rows_done", 0) >= 1000 else None

    running = _wait("the import to get under way", under_way, 30, every=0.02)
    # Uploaded to A, it runs in A's thread (unless B's scheduler claimed it
    # first): kill whichever server runs it, mid-import.
    victim = next(s for s in servers if s.runs(_pid(running.worker)))
    survivor = next(s for s in servers if s is not victim)
    victim.kill()
    assert job().status == "running"  # left so by the dead worker

    def finished():
        answer = browser.get(f"{survivor.url}/import/job/{job_id}/status")
        assert answer.status == 200, answer.text[:500]
        return answer.json() if answer.json()["finished"] else None

    status = _wait(f"server {survivor.name} to finish the import", finished, 60, every=0.2)
    assert status["status"] == "done" and status["created"] == IMPORT_ROWS, status
    done = job()
    assert survivor.runs(_pid(done.worker)) and done.attempts == 2, done
    with engine.connect() as connection:
        imported = connection.scalar(select(func.count()).select_from(Client)
                                     .where(Client.last_name == surname))
    assert imported == IMPORT_ROWS  # every row once: the killed run left nothing
    assert f"Import {job_id}: its worker {running.worker} stopped; queued" in survivor.log()


# --- nginx ----------------------------------------------------------------------------------


def _nginx_conf(cluster, folder, https_port):
    """deploy/nginx.conf with this test's servers, port, certificate and logs."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    servers = "".join(f"    server 127.0.0.1:{cluster[name].port} max_fails=2 fail_timeout=10s;\n"
                      for name in ("a", "b"))
    conf, found = re.subn(r"(?m)^ *server \d+\.\d+\.\d+\.\d+:\d+ [^;]*;\n", "", conf)
    assert found >= 2, "deploy/nginx.conf names no app servers"
    conf = conf.replace("upstream sdelka {\n", "upstream sdelka {\n" + servers, 1)
    conf = re.sub(r"(?m)^ *listen \[::\]:\d+[^;]*;\n", "", conf)
    conf = re.sub(r"(?m)^( *listen) 80;", rf"\1 127.0.0.1:{_free_port()};", conf)
    conf = re.sub(r"(?m)^( *listen) 443 ssl;", rf"\1 127.0.0.1:{https_port} ssl;", conf)
    conf = re.sub(r"(?m)^( *ssl_certificate)\s+\S+;", rf"\1 {folder}/cert.pem;", conf)
    conf = re.sub(r"(?m)^( *ssl_certificate_key)\s+\S+;", rf"\1 {folder}/key.pem;", conf)
    conf = re.sub(r"(?m)^( *access_log)\s+/\S+", rf"\1 {folder}/access.log", conf)
    assert f"127.0.0.1:{https_port} ssl" in conf and "server 10.0.0." not in conf, conf
    (folder / "sdelka.conf").write_text(conf, encoding="utf-8")
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\n    client_body_temp_path {folder}/body;\n"
        f"    proxy_temp_path {folder}/proxy;\n    access_log off;\n"
        f"    include {folder}/sdelka.conf;\n}}\n", encoding="utf-8")
    return main


@pytest.fixture
def nginx(cluster):
    """nginx with deploy/nginx.conf in front of both servers: its HTTPS address."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary) or not shutil.which("openssl"):
        _unavailable("nginx or openssl is not installed (apt-get install nginx openssl)")
    folder = Path(tempfile.mkdtemp(prefix="sdelka-nginx-"))
    folder.chmod(0o755)  # nginx's workers run as another user under root
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=crm.example.ru", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    https_port = _free_port()
    main = _nginx_conf(cluster, folder, https_port)
    command = [binary, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)]
    checked = subprocess.run(command + ["-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command + ["-g", "daemon off;"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)

    def answers():
        assert process.poll() is None, (folder / "error.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        _wait("nginx to answer", answers, 10)
        yield {"url": f"https://127.0.0.1:{https_port}", "folder": folder}
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def test_deploy_nginx_conf_puts_both_servers_behind_one_address(cluster, nginx):
    base, folder = nginx["url"], nginx["folder"]
    user = Browser()
    # Every request gets nginx's id, the app sends it back, nginx logs it.
    health = user.request("GET", base + "/health", headers={"X-Request-ID": "from-a-client"})
    assert health.status == 200, health.text
    request_id = health.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    access_log = folder / "access.log"
    # (nginx logs a request after it has answered it)
    _wait("nginx to log the request id", lambda: f"rid={request_id} " in access_log.read_text(), 5)
    # A server killed by the import test is left out: every request is answered.
    dead = [cluster[name] for name in ("a", "b") if cluster[name].process.poll() is not None]
    assert all(user.get(base + PAGE).status == 302 for _ in range(4))  # to the sign-in
    if dead:  # tried, then the next one
        _wait("nginx to log a request passed on from the dead server",
              lambda: f"upstream=127.0.0.1:{dead[0].port}, " in access_log.read_text(), 5)
    # Signed in over HTTPS: the form check (Referer against the host) and the
    # scheme the app sees (gunicorn trusts X-Forwarded-Proto from 127.0.0.1).
    answer = user.sign_in(base)
    assert answer.status == 302, answer.text[:1000]
    spec = user.get(base + "/api/v1/_openapi")
    assert spec.status == 200 and spec.json()["servers"] == [{"url": base + "/"}], spec.text[:300]
    # Bodies above MAX_UPLOAD_MB (20) are refused by nginx; imports take up to 200 MB.
    big = b"x" * (20 * 1024 * 1024 + 1024)
    refused = user.post(base + "/notes/add", {"csrf_token": user.token(base + "/notes/add")},
                        files={"file": ("big.txt", big)})
    assert refused.status == 413 and refused.headers["Server"].startswith("nginx"), refused.status
    rows = ("Название;Телефон\r\n" + "Клиент;+79030000000\r\n" * 800_000).encode()
    assert len(rows) > len(big)
    uploaded = user.post(base + "/import/clients/",
                         {"csrf_token": user.token(base + "/import/clients/")},
                         files={"file": ("big.csv", rows)})
    assert uploaded.status == 302 and "/import/job/" in uploaded.headers["Location"], (
        uploaded.status, uploaded.text[:500])
