#!/usr/bin/env python3
"""dashboard.py URL TOKEN LOADS LABEL - run by bench/dashboard.sh.

Loads the dashboard LOADS times in headless Chromium and prints the
medians: the first meaningful paint (body's data-overview-painted, set in
the frame after the job counts are in the page, in ms since navigation
start; Chromium's first-contentful-paint beside it), and a job's detail
(data-job-ms: from the address naming the job to its fields painted).
"""
import statistics
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

URL, TOKEN, LOADS, LABEL = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def wait_attr(driver, script, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        v = driver.execute_script(script)
        if v:
            return float(v)
        time.sleep(0.005)
    raise TimeoutError(script)


def main():
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    paint, fcp, detail, own, health = [], [], [], [], []
    try:
        driver.get(URL + "/?token=" + TOKEN)	# the cookie, once; a warm-up load
        wait_attr(driver, "return document.body.dataset.overviewPainted")
        job = driver.execute_script(
            "return fetch('/jobs?limit=1&status=queued').then(r => r.json()).then(j => j.jobs[0].job_id)")
        for _ in range(LOADS):
            driver.get("about:blank")	# a new page each time, not a hash change
            driver.get(URL + "/")
            paint.append(wait_attr(driver, "return document.body.dataset.overviewPainted"))
            fcp.append(driver.execute_script(
                "const e = performance.getEntriesByName('first-contentful-paint'); return e.length ? e[0].startTime : 0"))
            # /health's round trip, as the browser timed it.
            health.append(driver.execute_script(
                "const e = performance.getEntriesByName(location.origin + '/health'); return e.length ? e[0].responseEnd - e[0].startTime : 0"))
            # The page's own part: from its HTML received to the counts painted.
            own.append(paint[-1] - driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].responseEnd"))
            driver.execute_script("delete document.body.dataset.jobMs; location.hash = 'job/' + arguments[0]", job)
            detail.append(wait_attr(driver, "return document.body.dataset.jobMs"))
    finally:
        driver.quit()
    med = statistics.median
    print(f"dashboard, {LABEL}: first meaningful paint median {med(paint):.1f} ms "
          f"(min {min(paint):.1f}, max {max(paint):.1f}; first contentful paint {med(fcp):.1f} ms; "
          f"from the page received {med(own):.1f} ms, of which /health {med(health):.1f} ms), "
          f"a job's detail median {med(detail):.1f} ms (min {min(detail):.1f}, max {max(detail):.1f}), "
          f"{LOADS} loads")


if __name__ == "__main__":
    main()
