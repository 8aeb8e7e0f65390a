#!/usr/bin/python3
"""klic-admin serve in a real browser (issue 17 item 4): headless Debian
chromium through Selenium and /usr/bin/chromedriver, nothing downloaded.
Logs in through the printed URL, uploads a .kreq made by `klic request`
(picked; two more are dropped onto the page),
previews, confirms and downloads the .kresp (browser.sh then installs it with
`klic install`); a denial is shown with its reason; a hostile .kreq gets the
command line's refusal line on the page; the license list is filtered; the
Entitlements chart, a member accepted after seeing its key and removed after
seeing it again, the Audit.  One
screenshot per page goes to SHOTS.  No page may log a console error (a CSP
violation would be one).

Usage: browser.py LOGIN_URL REQ_DIR DOWNLOAD_DIR SHOTS EVIL_LINE MACHINE_ID
Exit 0 all passed, 1 a check failed, 77 chromium is not installed."""
import base64
import os
import shutil
import sys
import tempfile
import time

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)):
    print("# SKIPPED: chromium or chromium-driver is not installed (setup.sh installs them)")
    sys.exit(77)
from selenium import webdriver  # noqa: E402  (python3-selenium)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

url, reqdir, dldir, shots, evil_line, mid = sys.argv[1:7]
origin = url.split("/login")[0]
fails = passes = 0


def check(ok, what):
    global fails, passes
    if ok:
        passes += 1
        print("ok   - " + what)
    else:
        fails += 1
        print("FAIL - " + what)


profile = tempfile.mkdtemp(prefix="klic-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = CHROMIUM
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run",
          "--disable-dev-shm-usage", "--window-size=1280,900", "--user-data-dir=" + profile):
    opts.add_argument(a)
opts.add_experimental_option("prefs", {"download.default_directory": dldir,
                                       "download.prompt_for_download": False})
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
drv.set_page_load_timeout(60)
drv.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": dldir})


def shot(name, status=None):
    """Screenshot; no console error, except the page's own HTTP status when
    it is the expected one (a refused filter answers 400)."""
    path = os.path.join(shots, name + ".png")
    drv.save_screenshot(path)
    own = "the server responded with a status of %s" % status
    errors = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"
              and not (status and e.get("source") == "network" and own in e.get("message", ""))]
    check(not errors, "%s: screenshot %s, no console error %s" % (name, path, errors[:2]))


def text(css):
    return drv.find_element(By.CSS_SELECTOR, css).text


def wait_for(css, secs=30):
    """The next page has an element matching css (after a click that posts)."""
    WebDriverWait(drv, secs).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))


def submit_filter():
    """Submit the list's filter form and wait until the next page replaced
    this one (reading it before would find the old page's elements)."""
    old = drv.find_element(By.TAG_NAME, "html")
    drv.find_element(By.CSS_SELECTOR, "form.filter button").click()
    WebDriverWait(drv, 30).until(EC.staleness_of(old))
    WebDriverWait(drv, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def wait_file(path, secs=30):
    end = time.time() + secs
    while time.time() < end:
        if os.path.exists(path) and not os.path.exists(path + ".crdownload"):
            return True
        time.sleep(0.2)
    return False


try:
    # --- log in through the printed URL
    drv.get(url)
    check(drv.current_url == origin + "/" and drv.title == "klic admin: Home",
          "the login URL lands on the home page (%s, %r)" % (drv.current_url, drv.title))
    check(any(c["name"] == "klic_session" and c["httpOnly"] and c.get("sameSite") == "Strict"
              for c in drv.get_cookies()), "the session cookie is HttpOnly, SameSite=Strict")
    shot("01-home")

    # --- create: upload ada.kreq, preview, confirm, download
    drv.find_element(By.LINK_TEXT, "Create offline licenses").click()
    shot("02-create")
    drv.find_element(By.ID, "kreq").send_keys(os.path.join(reqdir, "ada.kreq"))
    drv.find_element(By.ID, "preview").click()
    wait_for("#plan tbody tr")
    row = text("#plan tbody tr")
    check("ada.kreq" in row and "Ada User <ada@test.invalid>" in row and mid in row
          and "issue 2 seats" in row, "preview: ada.kreq, the member, machine, 'issue 2 seats' (%s)"
          % row.replace("\n", " | "))
    go = drv.find_element(By.ID, "go")
    check(go.text == "Issue 2 seats: this cannot be undone", "the button: %r" % go.text)
    shot("03-preview")
    go.click()
    wait_for("#results")
    res = text("#results")
    check(res.startswith("OK ada.kreq -> ada.kresp: issued 2 KRE seat(s) to "),
          "confirmed: %r" % res)
    shot("04-issued")
    drv.find_element(By.ID, "download").click()
    check(wait_file(os.path.join(dldir, "ada.kresp")), "downloaded ada.kresp into " + dldir)

    # --- a denial and a hostile request, together
    drv.find_element(By.LINK_TEXT, "Create offline licenses").click()
    # dropped onto the page (app.js), not picked: a drop event carrying both files
    names = ["bob.kreq", "evil.kreq"]
    data = [base64.b64encode(open(os.path.join(reqdir, n), "rb").read()).decode() for n in names]
    drv.execute_script("""
        const [names, data] = arguments, dt = new DataTransfer();
        names.forEach(function (n, i) {
            const bin = atob(data[i]), u = new Uint8Array(bin.length);
            for (let k = 0; k < bin.length; k++) u[k] = bin.charCodeAt(k);
            dt.items.add(new File([u], n));
        });
        document.getElementById("dropzone").dispatchEvent(
            new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        """, names, data)
    check(text("#dropzone") == "2 file(s) ready: bob.kreq, evil.kreq",
          "drag and drop: %r" % text("#dropzone"))
    drv.find_element(By.ID, "preview").click()
    wait_for("#plan tbody tr")
    rows = [r.text for r in drv.find_elements(By.CSS_SELECTOR, "#plan tbody tr")]
    bob = [r for r in rows if r.startswith("bob.kreq")]
    evil = [r for r in rows if r.startswith("evil.kreq")]
    check(bob and "denied: not-member" in bob[0], "bob.kreq: denied: not-member (%s)" % bob)
    check(evil and evil[0].endswith("refused: " + evil_line),
          "evil.kreq refused on the page with the CLI's line %r (%s)" % (evil_line, evil))
    check(text("#go") == "Answer 1 request (no seat is spent)", "button: %r" % text("#go"))
    shot("05-preview-denied-refused")
    drv.find_element(By.ID, "go").click()
    wait_for("#results")
    res = text("#results")
    check("DENY bob.kreq -> bob.kresp: not-member: " in res and evil_line in res,
          "the denial with its reason, the refusal again: %r" % res)
    shot("06-denied")

    # --- the license list, filtered
    drv.find_element(By.LINK_TEXT, "Offline licenses").click()
    check(text("#count") == "2 licenses", "Offline licenses: %r" % text("#count"))
    shot("07-licenses")
    Select(drv.find_element(By.NAME, "product")).select_by_value("KRE")
    Select(drv.find_element(By.NAME, "state")).select_by_value("active")
    drv.find_element(By.NAME, "machine").send_keys(mid.lower().replace("-", ""))
    submit_filter()
    cells = [r.text for r in drv.find_elements(By.CSS_SELECTOR, "#licenses tbody tr")]
    check(text("#count") == "2 licenses" and len(cells) == 2 and all(mid in c and "active" in c for c in cells),
          "filtered by KRE, active, machine typed in lower case: 2 rows of %s" % mid)
    shot("08-licenses-filtered")
    Select(drv.find_element(By.NAME, "product")).select_by_value("KSE")
    submit_filter()
    check(text("#count") == "0 licenses" and "product=KSE" in drv.current_url,
          "filtered by KSE: 0 licenses (%s)" % drv.current_url)
    drv.find_element(By.NAME, "member").send_keys("not a fingerprint")
    submit_filter()
    check(text("#error") == "member must be a fingerprint (40 hex digits)",
          "a bad filter is refused on the page: %r" % text("#error"))
    shot("09-licenses-refused", status=400)

    # --- the other pages: Entitlements (the chart), Members, Audit
    drv.find_element(By.LINK_TEXT, "Entitlements").click()
    cells = drv.find_element(By.ID, "product-KRE").text.split()
    check(cells[:4] == ["KRE", "5", "2", "3"], "Entitlements: KRE granted 5, used 2, free 3 (%s)" % cells)
    pts = drv.find_element(By.CSS_SELECTOR, "svg#chart-KRE polyline").get_attribute("points")
    check(bool(pts) and drv.find_element(By.ID, "chart-KRE").size["width"] > 100,
          "the seats-in-use chart is drawn (inline SVG, points %r)" % pts[:40])
    shot("10-entitlements")
    drv.find_element(By.LINK_TEXT, "Members").click()
    check(text("#count") == "1 member", "Members: %r" % text("#count"))
    drv.find_element(By.ID, "member-kreq").send_keys(os.path.join(reqdir, "bob.kreq"))
    drv.find_element(By.ID, "member-preview").click()
    wait_for("#uid")
    check(text("#uid") == "Bob User <bob@test.invalid>" and len(text("#fpr").replace(" ", "")) == 40,
          "Members: bob's key shown before accepting: %r %r" % (text("#uid"), text("#fpr")))
    shot("11-member-preview")
    bob = "".join(text("#fpr").split())
    drv.find_element(By.ID, "accept-go").click()
    wait_for("#done")
    check(text("#done").endswith("Bob User <bob@test.invalid>") and text("#count") == "2 members",
          "accepted: %r" % text("#done"))
    shot("12-members")
    # remove bob: the question shows his fingerprint and user ID first
    drv.find_element(By.ID, "remove-" + bob).click()
    wait_for("#remove-go")
    check(text("#uid") == "Bob User <bob@test.invalid>" and "".join(text("#fpr").split()) == bob,
          "Members: remove asks first, showing %r %r" % (text("#uid"), text("#fpr")))
    shot("13-member-remove")
    drv.find_element(By.ID, "remove-go").click()
    wait_for("#done")
    check(text("#done").startswith("removed %s Bob User <bob@test.invalid>" % bob) and
          text("#count") == "1 member" and not drv.find_elements(By.ID, "remove-" + bob),
          "removed: %r, %r" % (text("#done"), text("#count")))
    shot("14-member-removed")
    drv.find_element(By.LINK_TEXT, "Audit").click()
    check(text("#status") == "The ledger verifies.", "Audit: %r" % text("#verify"))
    shot("15-audit")
finally:
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)
print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
