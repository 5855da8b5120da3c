#!/usr/bin/env bash
# twomass_vo DaCHS mirror kit: publish a twomass_vo LocalArchive over
# SIA v2, TAP (sync, async, uploads), ObsCore, datalink and SODA with
# GAVO DaCHS 2.7 on Debian bookworm.  Run as root.
#
#   mirror.sh up [ARCHIVE_PATH]   install what is missing, configure, import
#                                 the archive (if new or changed), serve;
#                                 prints SIA_URL=, TAP_URL=, TAP_TABLE=,
#                                 ARCHIVE_PATH=, DATALINK_URL= as its last
#                                 lines on stdout (everything else: stderr),
#                                 so:  eval "$(mirror.sh up)"
#   mirror.sh down                stop what `up` started (recorded in
#                                 /var/lib/twomass_vo-mirror/started)
#   mirror.sh status              what runs; the URL lines if serving
#
# Default ARCHIVE_PATH: /var/gavo/inputs/twomass/archive, simulated on first
# use (a 0.3 deg patch on M31) with the project's Python.
#
# Environment:
#   PYTHON           Python with twomass_vo installed (default: python3 on PATH)
#   DACHS_PORT       HTTP port on 127.0.0.1 (default 8080)
#   DACHS_AUTHORITY  IVOA authority of the publisher DIDs (twomass-vo.mirror)
#   MIRROR_FILES     auto|link|copy: how DaCHS reaches the FITS files (auto:
#                    symlink the store if user gavo can read it, else copy)
#   MIRROR_GAVORC    auto|write|keep: /etc/gavo.rc handling (auto: write it
#                    unless it exists and was not written by this script)
#   MIRROR_SIM_CENTER, MIRROR_SIM_RADIUS   patch simulated by default
#   APT_RECOMMENDS=0 install with --no-install-recommends
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGVER=15
PGCLUSTER=main
PORT=${DACHS_PORT:-8080}
AUTHORITY=${DACHS_AUTHORITY:-twomass-vo.mirror}
GAVORC=/etc/gavo.rc
GAVORC_MARK="# written by twomass_vo mirror/dachs/mirror.sh"
RESNAME=twomass
RESDIR=/var/gavo/inputs/$RESNAME
RD_ID=$RESNAME/q
SCHEMA_TABLE=$RESNAME.images
DEFAULT_ARCHIVE=$RESDIR/archive
SIM_CENTER=${MIRROR_SIM_CENTER:-00h42m44.3s +41d16m08s}
SIM_RADIUS=${MIRROR_SIM_RADIUS:-0.3}
STATE_DIR=/var/lib/twomass_vo-mirror
STARTED=$STATE_DIR/started
PUBLISHED=$STATE_DIR/published
WEB_PID=/var/gavo/state/web.pid
SYSPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
APT_DONE_UPDATE=0
export DEBIAN_FRONTEND=noninteractive

T0=$(date +%s.%N)
log() { printf '[mirror %s +%ss] %s\n' "$(date +%H:%M:%S)" \
  "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN {printf "%.1f", a - b}')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# System tools run without the caller's virtualenv (apt's maintainer scripts
# and dachs use /usr/bin/python3).
sys() { env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME PATH="$SYSPATH" "$@"; }
# dachs administrative commands, as the DaCHS administrator account
dachs_admin() { (cd "$RESDIR" && sys runuser -u dachsroot -- dachs "$@"); }

[ "$(id -u)" = 0 ] || { echo "mirror.sh: run as root" >&2; exit 1; }

# ------------------------------------------------------------------ state
record_started() {  # record_started WHAT
  mkdir -p "$STATE_DIR"
  touch "$STARTED"
  grep -qxF "$1" "$STARTED" || echo "$1" >>"$STARTED"
}
was_started() { [ -f "$STARTED" ] && grep -qxF "$1" "$STARTED"; }
forget_started() {
  [ -f "$STARTED" ] || return 0
  grep -vxF "$1" "$STARTED" >"$STARTED.tmp" || true
  mv "$STARTED.tmp" "$STARTED"
}

# ------------------------------------------------------------------ packages
pkg_ok() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

apt_install() {
  local opts=(-y -q -o Dpkg::Use-Pty=0)
  [ "${APT_RECOMMENDS:-1}" = 0 ] && opts+=(--no-install-recommends)
  if [ "$APT_DONE_UPDATE" = 0 ]; then
    log "apt-get update"
    sys apt-get update -q >&2
    APT_DONE_UPDATE=1
  fi
  log "apt-get install $*"
  sys apt-get install "${opts[@]}" "$@" >&2
}

patch_pgsphere() {
  # pgsphere 1.1.1+2021-11-10 (bookworm) ships two legacy '@' operators on
  # smoc whose COMMUTATOR '@>' is already the commutator of '<@'; current
  # PostgreSQL 15 point releases reject that, so 'CREATE EXTENSION pg_sphere'
  # (run by 'dachs init') fails.  Upstream removed them (pgsphere PR #92).
  local f=/usr/share/postgresql/$PGVER/extension/pg_sphere--1.2.0.sql
  if [ -f "$f" ] && grep -q '^-- a minimal set of backwards-compatible operators for GAVO DaCHS' "$f"; then
    log "patching $f (drop the legacy smoc '@' operators)"
    sed -i '/^-- a minimal set of backwards-compatible operators for GAVO DaCHS/,/^-- debugging/{/^-- debugging/!d}' "$f"
  fi
}

pg_status() {  # prints online/down/'' (no cluster)
  sys pg_lsclusters -h 2>/dev/null |
    awk -v v="$PGVER" -v c="$PGCLUSTER" '$1==v && $2==c {print $4}' | head -1
}
pg_port() {
  sys pg_lsclusters -h | awk -v v="$PGVER" -v c="$PGCLUSTER" '$1==v && $2==c {print $3}'
}

pg_start() {
  local st
  st=$(pg_status)
  if [ -z "$st" ]; then
    log "creating PostgreSQL cluster $PGVER/$PGCLUSTER"
    sys pg_createcluster "$PGVER" "$PGCLUSTER" >&2
    st=$(pg_status)
  fi
  case "$st" in
    online*) ;;
    *)
      log "starting PostgreSQL $PGVER/$PGCLUSTER"
      # policy-rc.d and the lack of systemd keep apt from starting it
      record_started "postgresql $PGVER $PGCLUSTER"
      sys pg_ctlcluster "$PGVER" "$PGCLUSTER" start >&2
      ;;
  esac
}

psql_gavo() {  # psql_gavo SQL -> unaligned output
  sys runuser -u postgres -- psql -X -q -p "$(pg_port)" -d gavo -tAc "$1" 2>/dev/null
}

ensure_installed() {
  local need=() p
  for p in "postgresql-$PGVER" "postgresql-$PGVER-pgsphere" "postgresql-$PGVER-q3c"; do
    pkg_ok "$p" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt_install "${need[@]}"
  fi
  patch_pgsphere
  # the cluster must run BEFORE gavodachs2-server is configured: its
  # postinst runs createdb, createuser and 'dachs init'
  pg_start
  if ! pkg_ok gavodachs2-server; then
    case "$(dpkg-query -W -f='${Status}' gavodachs2-server 2>/dev/null || true)" in
      *unpacked* | *half-configured* | *triggers-*)
        log "gavodachs2-server is not configured yet: dpkg --configure -a"
        sys dpkg --configure -a >&2
        ;;
      *)
        apt_install gavodachs2-server || {
          log "gavodachs2-server postinst failed; retrying the configuration"
          patch_pgsphere
          pg_start
          sys dpkg --configure -a >&2
        }
        ;;
    esac
    pkg_ok gavodachs2-server || die "gavodachs2-server did not install"
    log "installed $(sys dachs --version 2>&1 | head -1)"
  fi
}

# ------------------------------------------------------------------ config
CONFIG_CHANGED=0
BASE=""

write_config() {
  local mode=${MIRROR_GAVORC:-auto} want
  want=$(
    cat <<EOF
$GAVORC_MARK
# (DACHS_PORT=$PORT DACHS_AUTHORITY=$AUTHORITY; rerun mirror.sh up to change)
[general]
rootDir: /var/gavo

[web]
# loopback only
bindAddress: 127.0.0.1
serverPort: $PORT
# job URLs, access_url and capability URLs are built from this: keep the
# IPv4 literal so clients never try ::1
serverURL: http://127.0.0.1:$PORT
sitename: twomass_vo 2MASS image mirror

[ivoa]
# needed for standard publisher DIDs (obscore, datalink IDs)
authority: $AUTHORITY
EOF
  )
  if [ -f "$GAVORC" ] && ! grep -qxF "$GAVORC_MARK" "$GAVORC" && [ "$mode" != write ]; then
    mode=keep
  fi
  if [ "$mode" = keep ] && [ -f "$GAVORC" ]; then
    log "keeping $GAVORC (not written by this script; MIRROR_GAVORC=write replaces it)"
  elif [ "$(cat "$GAVORC" 2>/dev/null || true)" != "$want" ]; then
    if [ -f "$GAVORC" ] && ! grep -qxF "$GAVORC_MARK" "$GAVORC"; then
      cp -p "$GAVORC" "$GAVORC.before-twomass-mirror"
      log "saved the previous $GAVORC as $GAVORC.before-twomass-mirror"
    fi
    log "writing $GAVORC (127.0.0.1:$PORT, authority $AUTHORITY)"
    printf '%s\n' "$want" >"$GAVORC"
    chmod 644 "$GAVORC"
    CONFIG_CHANGED=1
  fi
}

read_base_url() {
  # the server URL DaCHS will use (from /etc/gavo.rc, whoever wrote it)
  BASE=$(sys dachs config web serverURL 2>/dev/null | tail -1 || true)
  BASE=${BASE%/}
  [ -n "$BASE" ] || BASE=http://127.0.0.1:$PORT
}

# ------------------------------------------------------------------ server
dachs_running() {
  [ -f "$WEB_PID" ] && kill -0 "$(cat "$WEB_PID")" 2>/dev/null
}

wait_http() {  # wait_http URL [seconds]
  local n=$((${2:-60} * 4))
  for _ in $(seq 1 "$n"); do
    curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null && return 0
    sleep 0.25
  done
  return 1
}

dachs_stop() {
  local pid
  pid=$(cat "$WEB_PID" 2>/dev/null || true)
  log "stopping DaCHS (pid ${pid:-?})"
  sys dachs serve stop >&2 2>&1 || true
  for _ in $(seq 1 80); do
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.25
  done
}

dachs_start() {
  if dachs_running && [ "$CONFIG_CHANGED" = 1 ]; then
    log "configuration changed: restarting DaCHS"
    dachs_stop
  fi
  if ! dachs_running; then
    log "starting DaCHS on $BASE"
    record_started dachs
    mkdir -p /var/gavo/logs
    # setsid + </dev/null: detached from the calling shell (no zombie)
    sys setsid -w dachs serve start </dev/null >/var/gavo/logs/twomass-mirror-serve.out 2>&1 || {
      cat /var/gavo/logs/twomass-mirror-serve.out >&2
      die "dachs serve start failed"
    }
  fi
  wait_http "$BASE/tap/availability" 60 || die "DaCHS does not answer on $BASE (see /var/gavo/logs/)"
}

# ------------------------------------------------------------------ archive
PY=""
find_python() {
  PY=$(command -v "${PYTHON:-python3}" || true)
  [ -n "$PY" ] || die "no ${PYTHON:-python3} on PATH"
  "$PY" -c 'import twomass_vo' 2>/dev/null ||
    die "$PY cannot import twomass_vo: activate the project's virtualenv or set PYTHON="
}

simulate_default() {
  [ -f "$DEFAULT_ARCHIVE/archive.json" ] && return 0
  find_python
  log "simulating a LocalArchive patch ($SIM_CENTER, r=$SIM_RADIUS deg) into $DEFAULT_ARCHIVE"
  mkdir -p "$RESDIR"
  # simulate into a scratch folder named like the target (the archive takes
  # its name from the folder), then move it in: no half-written archive
  local scratch=$RESDIR/.sim.$$
  local tmp=$scratch/${DEFAULT_ARCHIVE##*/}
  rm -rf "$scratch"
  mkdir -p "$scratch"
  (umask 022 && "$PY" -c '
import sys
from twomass_vo.archives import LocalArchive
a = LocalArchive.simulate(sys.argv[1], sys.argv[2], float(sys.argv[3]))
print(a, file=sys.stderr)
' "$tmp" "$SIM_CENTER" "$SIM_RADIUS") >&2 || { rm -rf "$scratch"; die "simulation failed"; }
  # LocalArchive.create makes the folder with mkdtemp (mode 0700): open it
  # up for the server account
  chmod -R go+rX "$tmp"
  rm -rf "$DEFAULT_ARCHIVE"
  mv "$tmp" "$DEFAULT_ARCHIVE"
  rmdir "$scratch"
}

gavo_can_read_tree() {  # gavo_can_read_tree DIR: every dir enterable, every file readable
  # shellcheck disable=SC2016
  sys runuser -u gavo -- sh -c 'cd "$1" 2>/dev/null &&
    [ -z "$(find . \( \( -type d ! -executable \) -o ! -readable \) -print -quit 2>&1)" ]' _ "$1"
}

files_in_place() {  # files_in_place ARCHIVE: does $RESDIR/files serve ARCHIVE/files?
  local dest=$RESDIR/files
  if [ -L "$dest" ]; then
    [ "$(readlink "$dest")" = "$1/files" ]
  else
    [ -f "$dest/.twomass-mirror-copy" ] && [ "$(cat "$dest/.twomass-mirror-copy")" = "$1" ]
  fi
}

link_files() {  # link_files ARCHIVE: make $RESDIR/files reach ARCHIVE/files
  local src=$1/files mode=${MIRROR_FILES:-auto} dest=$RESDIR/files
  [ -d "$src" ] || die "$src: no file store"
  [ -L "$dest" ] || [ ! -e "$dest" ] || [ -f "$dest/.twomass-mirror-copy" ] ||
    die "$dest exists and is not the mirror's; move it away"
  if [ "$mode" = auto ]; then
    if gavo_can_read_tree "$src"; then mode="link"; else
      log "user gavo cannot read everything under $src: copying the files" \
        "(make the archive readable, e.g. chmod -R o+rX, to symlink it instead)"
      mode=copy
    fi
  fi
  if [ "$mode" = link ]; then
    if [ "$(readlink "$dest" 2>/dev/null || true)" != "$src" ]; then
      rm -rf "$dest"
      ln -s "$src" "$dest"
    fi
    gavo_can_read_tree "$dest/" ||
      die "user gavo cannot read $src (fix the permissions, or MIRROR_FILES=copy)"
    log "files: $dest -> $src (symlink)"
  else
    log "files: copying $src to $dest"
    rm -rf "$dest.new"
    cp -a "$src" "$dest.new"
    printf '%s\n' "$1" >"$dest.new/.twomass-mirror-copy"
    chown -R dachsroot:gavo "$dest.new"
    chmod -R u+rwX,g+rX,o+rX "$dest.new"
    rm -rf "$dest"
    mv "$dest.new" "$dest"
  fi
}

fingerprint() {  # fingerprint ARCHIVE: what an import depends on
  {
    echo "archive=$1 base=$BASE files=${MIRROR_FILES:-auto}"
    sha256sum "$1/archive.json" "$HERE/twomass.rd" "$HERE/export_archive.py" "$GAVORC" | cut -c1-64
    find "$1/index" -maxdepth 1 -name '*.npy' -printf '%f %s %T@\n' | sort
  } | sha256sum | cut -c1-64
}

import_archive() {  # import_archive ARCHIVE
  local archive=$1 n rows fp
  mkdir -p "$RESDIR/data"
  chown dachsroot:gavo "$RESDIR" "$RESDIR/data"
  chmod 2775 "$RESDIR" "$RESDIR/data"
  if ! cmp -s "$HERE/twomass.rd" "$RESDIR/q.rd"; then
    log "installing the RD as $RESDIR/q.rd (RD id $RD_ID)"
    install -m 0644 -o dachsroot -g gavo "$HERE/twomass.rd" "$RESDIR/q.rd"
  fi
  # obscore must exist before a table using //obscore#publishSIAP is imported
  if [ "$(psql_gavo "select to_regclass('ivoa._obscoresources') is not null" || true)" != t ]; then
    log "dachs imp //obscore"
    dachs_admin imp //obscore >&2
  fi
  # skip the import if this archive (same index, RD, exporter, config) is in
  fp=$(fingerprint "$archive")
  rows=$(psql_gavo "select count(*) from $SCHEMA_TABLE" || true)
  if [ -f "$PUBLISHED" ] && [ "$(sed -n 2p "$PUBLISHED")" = "$fp" ] &&
    [ "${rows:-0}" -gt 0 ] 2>/dev/null && files_in_place "$archive"; then
    log "$archive is already published ($rows rows in $SCHEMA_TABLE)"
    return 0
  fi
  find_python
  link_files "$archive"
  log "exporting $archive"
  "$PY" "$HERE/export_archive.py" "$archive" "$RESDIR/data/archive.csv" \
    --accref-prefix "$RESNAME/files" >&2 || die "export of $archive failed"
  chown dachsroot:gavo "$RESDIR/data/archive.csv"
  log "dachs imp $RD_ID"
  dachs_admin imp "$RD_ID" >&2 || die "dachs imp $RD_ID failed"
  n=$(psql_gavo "select count(*) from $SCHEMA_TABLE")
  log "imported $n rows into $SCHEMA_TABLE"
  mkdir -p "$STATE_DIR"
  printf '%s\n%s\n' "$archive" "$fp" >"$PUBLISHED"
}

print_urls() {  # print_urls ARCHIVE
  echo "SIA_URL=$BASE/$RD_ID/siap2"
  echo "TAP_URL=$BASE/tap"
  echo "TAP_TABLE=$SCHEMA_TABLE"
  printf 'ARCHIVE_PATH=%q\n' "$1"
  echo "DATALINK_URL=$BASE/$RD_ID/dl/dlget"
}

# ------------------------------------------------------------------ commands
cmd_up() {
  local archive=${1:-}
  mkdir -p "$STATE_DIR"
  if [ "${MIRROR_GAVORC:-auto}" != keep ] && { [ ! -f "$GAVORC" ] || grep -qxF "$GAVORC_MARK" "$GAVORC"; }; then
    write_config  # before installing DaCHS, so that a systemd start uses it
  fi
  ensure_installed
  write_config
  read_base_url
  if [ -z "$archive" ]; then
    simulate_default
    archive=$DEFAULT_ARCHIVE
  fi
  [ -f "$archive/archive.json" ] || die "$archive is not a twomass_vo LocalArchive (no archive.json)"
  archive=$(realpath "$archive")
  import_archive "$archive"
  dachs_start
  wait_http "$BASE/$RD_ID/siap2/capabilities" 30 || die "$BASE/$RD_ID/siap2 does not answer"
  log "up: serving $archive on $BASE"
  print_urls "$archive"
}

cmd_down() {
  if was_started dachs; then
    if dachs_running; then dachs_stop; else log "DaCHS is not running"; fi
    forget_started dachs
  else
    log "DaCHS was not started by mirror.sh up: leaving it alone"
  fi
  if was_started "postgresql $PGVER $PGCLUSTER"; then
    if dachs_running; then
      log "DaCHS (not started by mirror.sh) still runs: leaving PostgreSQL $PGVER/$PGCLUSTER up"
    else
      case "$(pg_status)" in
        online*)
          log "stopping PostgreSQL $PGVER/$PGCLUSTER"
          sys pg_ctlcluster "$PGVER" "$PGCLUSTER" stop >&2
          ;;
      esac
      forget_started "postgresql $PGVER $PGCLUSTER"
    fi
  else
    log "PostgreSQL $PGVER/$PGCLUSTER was not started by mirror.sh up: leaving it alone"
  fi
  [ -s "$STARTED" ] || rm -f "$STARTED"
  log "down"
}

cmd_status() {
  local archive
  sys pg_lsclusters >&2 2>&1 || true
  [ -f "$STARTED" ] && log "started by mirror.sh up: $(tr '\n' ' ' <"$STARTED")"
  if dachs_running; then
    read_base_url
    log "DaCHS running (pid $(cat "$WEB_PID")) on $BASE"
    archive=$(sed -n 1p "$PUBLISHED" 2>/dev/null || true)
    print_urls "$archive"
  else
    log "DaCHS not running"
    return 3
  fi
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up [ARCHIVE_PATH] | down | status" >&2; exit 2 ;;
esac
