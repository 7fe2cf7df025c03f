#!/bin/sh
# Loads RUN_DIR/report.html in headless Chromium and passes when every <img>
# decoded (naturalWidth > 0) and the page raised no script or resource error.
# A checker is injected into a copy of the page (report_browser_test.html), which
# writes its verdict into the DOM; --dump-dom prints it. Exit 0 pass, 1 fail,
# 77 skip (no Chromium installed: Debian package `chromium`).
set -u
dir=${1:?usage: test_report_browser.sh RUN_DIR}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "SKIP: chromium not installed (apt-get install chromium)"
  exit 77
fi
[ -f "$dir/report.html" ] || { echo "FAIL: $dir/report.html missing"; exit 1; }
page="$dir/report_browser_test.html"
# capture=true also catches <img> load errors, which don't bubble
head_js='<script>window.zpErrors=[];window.addEventListener("error",function(e){var t=e.target;window.zpErrors.push(t\&\&t.tagName?("load error: "+(t.getAttribute("src")||t.tagName)):String(e.message));},true);</script>'
tail_js='<script>window.addEventListener("load",function(){var im=document.images,bad=[];for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0){bad.push(im[i].getAttribute("src"));}}var v=document.createElement("pre");v.id="zp-verdict";v.textContent=((bad.length||window.zpErrors.length||im.length===0)?"ZP-FAIL":"ZP-PASS")+" images="+im.length+" bad=["+bad.join(" ")+"] errors=["+window.zpErrors.join(" | ")+"]";document.body.appendChild(v);});</script>'
sed -e "s#<head>#<head>$head_js#" -e "s#</body>#$tail_js</body>#" "$dir/report.html" >"$page"
profile=$(mktemp -d)
abs=$(cd "$dir" && pwd)/report_browser_test.html
out=$(mktemp); err=$(mktemp)
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --enable-logging=stderr --v=0 --virtual-time-budget=10000 --dump-dom "file://$abs" >"$out" 2>"$err"
rc=$?
verdict=$(grep -o '<pre id="zp-verdict">[^<]*' "$out" | head -1 | sed 's/.*>//')
console=$(grep -E ':CONSOLE[:(]|Uncaught' "$err" || true)
rm -rf "$profile"
if [ $rc -ne 0 ] || [ -z "$verdict" ]; then
  echo "FAIL: chromium exit $rc, no verdict in the DOM"; tail -20 "$err"; rm -f "$out" "$err"; exit 1
fi
rm -f "$out" "$err"
echo "$verdict"
if [ -n "$console" ]; then
  echo "FAIL: console messages:"; echo "$console"; exit 1
fi
case "$verdict" in ZP-PASS*) exit 0 ;; *) exit 1 ;; esac
