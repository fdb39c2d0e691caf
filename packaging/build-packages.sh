#!/usr/bin/env bash
# Builds the .deb and .rpm into target/packages/, then checks them
# (packaging/check-packages.sh). PROFILE: the cargo profile, `dist` (fat LTO,
# stripped: what ships) by default; CI uses `release` to save build time.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb
command -v cargo-generate-rpm >/dev/null || cargo install --locked --quiet cargo-generate-rpm

bins=(clpd clpcl clpgrp clprsc clpstat clpmonctrl clpdown clpstdn clprexec clpcfctrl clpcfset clpcfget)
for extra in clplogcmd clplogcc clpalert; do
    [ -f "src/bin/$extra.rs" ] && bins+=("$extra")
done
args=()
for b in "${bins[@]}"; do args+=(--bin "$b"); done
profile=${PROFILE:-dist}
cargo build --locked --profile "$profile" "${args[@]}"

rm -rf target/packages
mkdir -p target/packages
cargo deb --no-build --profile "$profile" --output target/packages/
cargo generate-rpm --profile "$profile" --output target/packages/
bash packaging/check-packages.sh target/packages
