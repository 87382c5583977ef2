#!/usr/bin/env bash
# Fetch the browser libraries the site serves itself (MathJax 3, require.js, the ipywidgets
# HTML manager) from the npm registry, at the versions pinned in package-lock.json, and copy
# the files the pages load into assets/static/vendor/ (ignored by git; copied into the
# site's _static/ by Sphinx). Nothing of it is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=assets/static/vendor
stamp=$dest/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "site assets: up to date ($dest)"
  exit 0
fi
command -v npm >/dev/null || { echo "site assets: npm is missing; install Node.js (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
tmp=$(mktemp -d "${dest}.tmp.XXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mathjax" "$tmp/html-manager"
mj=node_modules/mathjax/es5
cp "$mj/tex-mml-chtml.js" "$tmp/mathjax/"
cp -r "$mj/output" "$mj/input" "$mj/a11y" "$mj/sre" "$mj/ui" "$mj/adaptors" "$tmp/mathjax/"
cp node_modules/requirejs/require.js "$tmp/"
hm=node_modules/@jupyter-widgets/html-manager/dist
cp "$hm/embed-amd.js" "$tmp/html-manager/"
find "$hm" -maxdepth 1 \( -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) -exec cp {} "$tmp/html-manager/" \;
echo "$want" > "$tmp/.package-lock.sha256"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "site assets: installed into $dest ($(du -sh "$dest" | cut -f1))"
