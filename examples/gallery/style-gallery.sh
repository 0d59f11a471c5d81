#!/usr/bin/env bash
# Regenerate the style-transfer gallery (examples/gallery/style-*.png, see STYLE.md).
#
# Offline, on the CPU: no VGG weights ship anywhere, so these use the
# random-multiscale extractor (random convolutional features, no training).
# Content photos come from the scikit-image / scikit-learn wheels
# (pip install 'artkit[samples]'); styles from scikit-image and Debian's
# mypaint-data-extras (apt-get install mypaint-data-extras). About 10 CPU minutes.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cork=/usr/share/mypaint/backgrounds/ramon/HR_Cork.png
opts=(--size 320 --steps 150 --no-multiscale)
export OMP_NUM_THREADS=1  # two runs at a time, one thread each

artkit -q stylize sample:astronaut -s sample:immunohistochemistry "${opts[@]}" -o "$tmp/a" &
artkit -q stylize sample:chelsea -s "$cork" "${opts[@]}" -o "$tmp/b" &
wait
artkit -q stylize sample:china -s sample:flower -s sample:immunohistochemistry \
    --style-weights 0.5,0.5 --style-weight 150 "${opts[@]}" -o "$tmp/c" &
artkit -q stylize sample:coffee -s sample:gravel --preserve-color "${opts[@]}" -o "$tmp/d" &
wait
mv "$tmp/a/astronaut.png" style-astronaut-immunohistochemistry.png
mv "$tmp/b/chelsea.png" style-chelsea-cork.png
mv "$tmp/c/china.png" style-china-flower-ihc-blend.png
mv "$tmp/d/coffee.png" style-coffee-gravel-preserve-color.png
ls -l style-*.png
