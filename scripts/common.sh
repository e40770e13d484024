# Shared by scripts/start and scripts/test: installing what Tipline needs and
# running a private PostgreSQL cluster. Source it; it defines functions only.

TIPLINE_DEBS="build-essential cmake pkg-config clang clang-format libclang-rt-14-dev git curl ca-certificates
openssl libevent-dev libssl-dev libsodium-dev libpq-dev libjansson-dev libinih-dev
libcriterion-dev node-llhttp age postgresql postgresql-contrib nodejs npm strace python3-jsonschema python3-yaml libseccomp-dev libqrencode-dev
tor systemd gettext chromium fonts-dejavu-core fonts-sil-abyssinica fonts-tlwg-loma-ttf fonts-wqy-microhei"
TIPLINE_DEBS_NORECOMMENDS="chromium"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian packages that are missing; do nothing when all are there.
tipline_install_deps() {
	local missing=""
	for p in $TIPLINE_DEBS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	# node and npm may come from elsewhere on a developer machine: accept them.
	if command -v node >/dev/null && command -v npm >/dev/null; then
		missing=$(printf '%s\n' $missing | { grep -vx -e nodejs -e npm || true; } | tr '\n' ' ')
	fi
	missing=$(echo $missing)
	if [ -n "$missing" ]; then
		say "installing Debian packages: $missing"
		as_root apt-get update -qq
		# Chromium's recommends pull in about a hundred desktop packages
		# (systemd, avahi, …) that a headless test browser does not need.
		local norec="" rest=""
		for p in $missing; do
			case " $TIPLINE_DEBS_NORECOMMENDS " in *" $p "*) norec="$norec $p" ;; *) rest="$rest $p" ;; esac
		done
		[ -z "$rest" ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $rest >/dev/null
		[ -z "$norec" ] || as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $norec >/dev/null
		# Debian starts tor.service on install, which reaches for the public
		# Tor network: the tests and the demo run their own private tors and
		# never use it, so a tor we just installed is stopped and disabled.
		case " $missing " in
		*" tor "*)
			if [ -d /run/systemd/system ]; then
				as_root systemctl disable --now tor.service >/dev/null 2>&1 || true
			fi ;;
		esac
	fi
}

# Configure the libFuzzer build (clang, ASan + UBSan, coverage everywhere) in
# $1 with the seconds each fuzzrun/ test fuzzes in $2, and build the fuzzers.
tipline_build_fuzzers() {
	local dir=$1 secs=$2
	mkdir -p "$dir"
	CC=clang cmake -S "$TIPLINE_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DTIPLINE_WERROR=ON \
		-DTIPLINE_SANITIZE=ON -DTIPLINE_LIBFUZZER=ON -DTIPLINE_FUZZ_SECONDS="$secs" \
		>"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; die "cmake configure failed"; }
	cmake --build "$dir" -j "$(nproc)" --target fuzzers >"$dir/build.log" 2>&1 ||
		{ tail -60 "$dir/build.log"; die "fuzzer build failed (full log: $dir/build.log)"; }
}

# Build into $1 with extra CMake arguments after it.
tipline_build() {
	local dir=$1; shift
	mkdir -p "$dir"
	cmake -S "$TIPLINE_ROOT" -B "$dir" "$@" >"$dir/configure.log" 2>&1 ||
		{ cat "$dir/configure.log"; die "cmake configure failed"; }
	cmake --build "$dir" -j "$(nproc)" >"$dir/build.log" 2>&1 ||
		{ tail -60 "$dir/build.log"; die "build failed (full log: $dir/build.log)"; }
}

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

# Start a private cluster in directory $1 (created if needed) listening only on
# a unix socket in $1/run, port $2. PostgreSQL refuses to run as root, so the
# cluster belongs to the 'postgres' system user when we are root.
tipline_pg_start() {
	local dir=$1 port=$2 run_as=()
	[ -n "$PG_BIN" ] || die "PostgreSQL binaries not found"
	mkdir -p "$dir/run"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$dir"
		chmod 0711 "$(dirname "$dir")" 2>/dev/null || true
		run_as=(runuser -u postgres --)
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		"${run_as[@]}" "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
			--no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; die "initdb failed"; }
		cat "$TIPLINE_ROOT/deploy/postgresql/tipline.conf" >>"$dir/data/postgresql.conf" 2>/dev/null || true
	fi
	"${run_as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/postgresql.log" \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir/run' -p $port" start >/dev/null ||
		{ tail -20 "$dir/postgresql.log"; die "PostgreSQL did not start"; }
}

tipline_pg_stop() {
	local dir=$1 run_as=()
	[ "$(id -u)" -eq 0 ] && run_as=(runuser -u postgres --)
	[ -f "$dir/data/postmaster.pid" ] &&
		"${run_as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# Run psql as the cluster's superuser against database $3 (default postgres).
tipline_psql() {
	local dir=$1 port=$2 db=${3:-postgres}; shift 3 || shift $#
	psql -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" -U postgres -d "$db" "$@"
}
