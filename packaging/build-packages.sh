#!/usr/bin/env bash
# Builds the .deb and .rpm into target/packages/ (release binaries with fat LTO,
# the `dist` profile), then lists and checks their contents.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb
command -v cargo-generate-rpm >/dev/null || cargo install --locked --quiet cargo-generate-rpm

bins=(clpd clpcl clpgrp clprsc clpstat clpmonctrl clpdown clpstdn clpcfctrl clpcfset clpcfget)
for extra in clplogcmd clplogcc clpalert; do
    [ -f "src/bin/$extra.rs" ] && bins+=("$extra")
done
args=()
for b in "${bins[@]}"; do args+=(--bin "$b"); done
cargo build --locked --profile dist "${args[@]}"

mkdir -p target/packages
cargo deb --no-build --profile dist --output target/packages/
cargo generate-rpm --profile dist --output target/packages/

deb=$(ls -t target/packages/*.deb | head -1)
rpm=$(ls -t target/packages/*.rpm | head -1)
echo "== $deb"; dpkg-deb -I "$deb" | sed -n '1,40p'; dpkg-deb -c "$deb"
echo "== $rpm"; ls -l "$rpm"
