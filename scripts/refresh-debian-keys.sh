#!/bin/sh
# Re-export the pinned Debian CD signing keys from Debian's debian-keyring package into
# keys/debian-cd-signing.asc. Run it deliberately (and review the diff) when Debian rotates
# a key; the fingerprints are pinned in src/config/schema.ts (base.fingerprints).
set -eu
cd "$(dirname "$0")/.."
keyring=/usr/share/keyrings/debian-role-keys.gpg
if [ ! -f "$keyring" ]; then
  echo "refresh-debian-keys: $keyring is missing; install it with: sudo apt-get install debian-keyring" >&2
  exit 1
fi
# Debian CD signing key (2011), Debian Testing CDs Automatic Signing Key (2014), CD key (2009).
fingerprints="DF9B9C49EAA9298432589D76DA87E80D6294BE9B F41D30342F3546695F65C66942468F4009EA8AC3 10460DAD76165AD81FBC0CE9988021A964E6EA7D"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# shellcheck disable=SC2086 # a list of fingerprints
gpg --homedir "$home" --no-default-keyring --keyring "$keyring" --export --export-options export-minimal --armor $fingerprints > keys/debian-cd-signing.asc.tmp
mv keys/debian-cd-signing.asc.tmp keys/debian-cd-signing.asc
echo "refresh-debian-keys: wrote keys/debian-cd-signing.asc from $(dpkg-query -W -f='debian-keyring ${Version}' debian-keyring 2>/dev/null || echo "$keyring")"

# The archive's automatic signing keys (InRelease, for the mini.iso chain), from
# debian-archive-keyring: 13/trixie, 12/bookworm, 11/bullseye. Add newer ones here.
archive=/usr/share/keyrings/debian-archive-keyring.gpg
if [ ! -f "$archive" ]; then
  echo "refresh-debian-keys: $archive is missing; install it with: sudo apt-get install debian-archive-keyring" >&2
  exit 1
fi
archive_fingerprints="04B54C3CDCA79751B16BC6B5225629DF75B188BD B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8 1F89983E0081FDE018F3CC9673A4F27B8DD47936"
# shellcheck disable=SC2086 # a list of fingerprints
gpg --homedir "$home" --no-default-keyring --keyring "$archive" --export --export-options export-minimal --armor $archive_fingerprints > keys/debian-archive-signing.asc.tmp
mv keys/debian-archive-signing.asc.tmp keys/debian-archive-signing.asc
echo "refresh-debian-keys: wrote keys/debian-archive-signing.asc from $(dpkg-query -W -f='debian-archive-keyring ${Version}' debian-archive-keyring 2>/dev/null || echo "$archive")"
