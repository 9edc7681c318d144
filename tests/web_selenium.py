#!/usr/bin/env python3
"""web_selenium.py URL TOKEN - the dashboard in headless Chromium (issue 16).

Run by tests/test_web.sh against a live jobringd's --http listener at URL
(http://127.0.0.1:PORT) with its token. Puts jobs in several states
through the API, opens the page (?token= once, then the cookie), and
checks that what it shows is the daemon's state: the counts by state, a
job's detail (status, exit code, its executions), the jobs listing; then
that a job submitted meanwhile appears without a reload (from /events, or
the 2 s polling when there is no event stream). Exit 0 if all holds.
"""
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By

URL, TOKEN = sys.argv[1], sys.argv[2]
failures = []


def api(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + TOKEN,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f" ({detail})" if detail else ""))
    if not ok:
        failures.append(name)


def wait_for(what, fn, timeout=15):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # an element not there yet, a stale one
            last = e
        time.sleep(0.1)
    return None


def wait_status(job_id, status, timeout=15):
    return wait_for(status, lambda: api("GET", "/jobs/" + job_id)["status"] == status, timeout)


def submit(**job):
    return api("POST", "/jobs", job)["job_id"]


def text(driver, element_id):
    """The element's text; again if the view was redrawn under us (the
    polling or an event replaces it while it is read)."""
    for _ in range(50):
        try:
            return driver.find_element(By.ID, element_id).text.strip()
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.05)
    return driver.find_element(By.ID, element_id).text.strip()


def number(s):
    return int(s.replace(",", "")) if s.replace(",", "").isdigit() else None


def make_jobs():
    ok = submit(command=["true"], name="web-ok")
    bad = submit(command=["sh", "-c", "echo to-stdout; exit 3"], name="web-bad")
    running = [submit(command=["sleep", "120"], name="web-run") for _ in range(2)]
    held = submit(command=["true"], name="web-held", hold=True)
    cancel = submit(command=["sleep", "120"], name="web-cancel", scheduled_at="2099-01-01T00:00:00Z")
    api("PUT", f"/jobs/{cancel}/cancel")
    wait_status(ok, "succeeded")
    wait_status(bad, "failed")
    for r in running:
        wait_status(r, "running")
    return bad, held


def browser():
    """Chromium, tried three times: on a loaded machine its start can time out."""
    for attempt in range(3):
        try:
            return start_browser()
        except Exception as e:  # session not created, driver timeout
            print(f"chromium did not start ({type(e).__name__}); again" if attempt < 2 else "chromium did not start")
            if attempt == 2:
                raise


def start_browser():
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def check_counts(driver):
    def settled():
        h = api("GET", "/health")
        shown = {k: number(text(driver, "count-" + k)) for k in
                 ("queued", "running", "succeeded", "failed", "cancelled", "submitted")}
        want = {k: h[k] for k in shown}
        return (shown, want) if shown == want else None
    got = wait_for("counts", settled, 10)
    check("overview counts equal /health's", got is not None,
          str(got[0]) if got else text(driver, "counts"))
    h = api("GET", "/health")
    pending = h["submitted"] - sum(h[k] for k in ("queued", "running", "succeeded", "failed", "cancelled"))
    shown = number(text(driver, "count-pending"))
    check("overview shows the pending (held) job", shown == pending and pending >= 1, f"{shown} vs {pending}")


def check_job(driver, bad):
    job = api("GET", "/jobs/" + bad)
    driver.get(URL + "/#job/" + bad)
    ok = wait_for("detail", lambda: text(driver, "job-status") == job["status"])
    check("a job's detail shows its status", bool(ok), text(driver, "job-status") if not ok else "")
    check("... its exit code", text(driver, "job-exit-code") == str(job["exit_code"]),
          text(driver, "job-exit-code"))
    execs = api("GET", "/executions?job_id=" + bad)["executions"]
    rows = wait_for("executions", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#job-execs tr.exec-row")) == len(execs))
    check("... its executions", bool(rows), f"{len(execs)} executions")
    log = wait_for("log", lambda: "to-stdout" in text(driver, "job-log"))
    check("... its output", bool(log), text(driver, "job-log"))


def check_live(driver):
    driver.get(URL + "/#jobs")
    wait_for("jobs", lambda: driver.find_elements(By.CSS_SELECTOR, "tr.job-row"))
    want = {j["job_id"] for j in api("GET", "/jobs?limit=50")["jobs"]}
    listed = wait_for("listed", lambda: want == {r.get_attribute("data-id") for r in
                                               driver.find_elements(By.CSS_SELECTOR, "tr.job-row")})
    check("the jobs view lists the daemon's first page", bool(listed), f"{len(want)} jobs")
    rendered = driver.find_element(By.ID, "view").get_attribute("data-rendered")
    fresh = submit(command=["true"], name="web-fresh")
    row = wait_for("fresh", lambda: driver.find_elements(By.CSS_SELECTOR, f'tr.job-row[data-id="{fresh}"]'), 10)
    check("a job submitted meanwhile appears without a reload", bool(row))
    again = driver.find_element(By.ID, "view").get_attribute("data-rendered")
    check("... by a refresh of the view, not a new page", int(again) > int(rendered), f"{rendered} -> {again}")
    print("live updates by:", text(driver, "live"))


def check_reloads(driver):
    """Eight loads of the page in one browser: each must finish its
    overview (which needs fetches after /health). A page left for
    another stays in the back-forward cache; if it kept its event
    stream open, six of them held all the browser's connections to the
    host and the seventh page's fetches waited forever."""
    done = 0
    for _ in range(8):
        driver.get("about:blank")
        driver.get(URL + "/")
        if not wait_for("overview", lambda: driver.execute_script(
                "return document.getElementById('view').dataset.view === 'overview'"), 10):
            break
        done += 1
    check("eight loads in a row each finish their overview (no stream left open by a page left)",
          done == 8, f"{done} of 8")


def main():
    bad, _held = make_jobs()
    driver = browser()
    try:
        driver.get(URL + "/?token=" + TOKEN)
        check("?token= lands on the page, the token gone from the address",
              driver.current_url.rstrip("/") == URL, driver.current_url)
        ok = wait_for("page", lambda: driver.find_elements(By.ID, "count-queued"))
        check("the overview paints", bool(ok))
        check_counts(driver)
        check_job(driver, bad)
        check_live(driver)
        check_reloads(driver)
        logs = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
                and "/events" not in e.get("message", "")]
        check("no script error in the console", not logs, str(logs[:3]))
    finally:
        driver.quit()
    print(f"web_selenium: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
