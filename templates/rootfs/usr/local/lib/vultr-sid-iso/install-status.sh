#!/bin/sh
# Sourced by vultr-sid-complete and vultr-sid-status: the install's status file, one line per
# part, "PART=done[: what]", "PART=failed: why" or "PART=waiting: for what"; a part that has
# not run has no line. Written by vultr-sid-complete (temp file and rename).
# (The installer's late command reads the new system's, under /target.)
INSTALL_STATUS=${INSTALL_STATUS:-/var/lib/vultr-sid-iso/install-status}
INSTALL_PARTS="essentials upgrade packages units network"

# status_of PART: the part's recorded outcome (empty when it has not run).
status_of() {
  sed -n "s/^$1=//p" "$INSTALL_STATUS" 2>/dev/null | tail -n1
}

# install_state: failed (the essentials are missing: nobody could log in), complete (every
# part done), or partial.
install_state() {
  case $(status_of essentials) in failed*) echo failed; return ;; esac
  for part in $INSTALL_PARTS; do
    case $(status_of "$part") in done*) ;; *) echo partial; return ;; esac
  done
  echo complete
}

# install_summary: what is not done, in one line ("packages failed: ...; units waiting: ...").
install_summary() {
  summary=
  for part in $INSTALL_PARTS; do
    outcome=$(status_of "$part")
    case $outcome in
      done*) continue ;;
      "") outcome="not done yet" ;;
    esac
    summary="${summary:+$summary; }$part $outcome"
  done
  echo "$summary"
}
