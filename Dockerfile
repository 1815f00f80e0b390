# taskd's container image: a Debian 12 build stage, a Debian 12 slim runtime stage holding the
# binaries and only the shared libraries they link, run as a non-root user with its data in a
# volume. Build it with scripts/image (no registry needed: it makes the Debian bases with
# debootstrap) or, where a registry is reachable, `docker build .` / `buildah build .` as is.
#
#   docker run -d -p 8000:8000 -v taskd-data:/var/lib/taskd \
#     -v ./admin.token:/run/secrets/taskd_admin_token:ro \
#     -e TASKD_ADMIN_TOKEN_FILE=/run/secrets/taskd_admin_token localhost/taskd
#
# The token file must be the image user's (uid 10001) and private: chown 10001 admin.token &&
# chmod 600 admin.token (taskd refuses a token file others may read).
# Without TASKD_ADMIN_TOKEN_FILE or TASKD_ADMIN_TOKEN, taskd generates the token on first start
# into the volume (/var/lib/taskd/admin.token). Every flag is also a TASKD_* variable.
# Plain HTTP on 0.0.0.0 inside the container: put it behind TLS or a private network.

ARG DEBIAN=debian:12
ARG DEBIAN_SLIM=debian:12-slim

FROM ${DEBIAN} AS build
# The build packages of scripts/setup (Boost.Test too: CMakeLists.txt asks for it even when the
# tests are off), without the test-only Python ones.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libboost-program-options1.81-dev libboost-test1.81-dev \
      libssl-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# What the build reads, and no more, so that an edit elsewhere (README, scripts, this file's
# runtime stage) does not recompile taskd.
COPY CMakeLists.txt ./
COPY lib lib
COPY app app
COPY bench bench
COPY packaging packaging
COPY ui ui
# Only the binaries the image ships (not the benchmarks): taskd, and taskd-agent once the tree
# has it. Then the Debian packages that hold the shared libraries they link, for the runtime stage.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTASKD_BUILD_TESTS=OFF \
 && targets=taskd \
 && if ninja -C /build -t targets all | grep -q '^taskd-agent:'; then targets="$targets taskd-agent"; fi \
 && cmake --build /build -j "$(nproc)" --target $targets \
 && mkdir -p /out/bin \
 && for t in $targets; do install -s -m 0755 "/build/app/$t/$t" /out/bin/; done \
 && for lib in $(ldd /out/bin/* | awk '$3 ~ /^\// { print $3 }' | sort -u); do \
      dpkg -S "*/${lib##*/}"; done | cut -d: -f1 | sort -u > /out/runtime-packages \
 && echo "runtime packages:" $(cat /out/runtime-packages)

FROM ${DEBIAN_SLIM}
COPY --from=build /out/runtime-packages /usr/local/share/taskd/runtime-packages
# The packages of every library the binaries link, as the build stage found them with ldd and
# dpkg -S: Boost's json, url and program_options, OpenSSL's libssl3, libpq5 (PostgreSQL's client
# library), and libc6/libstdc++6/libgcc-s1
# (already in the base); and ca-certificates, the system store taskd-agent verifies an https://
# server against when no --tls-ca is given.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      $(cat /usr/local/share/taskd/runtime-packages) ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && useradd --uid 10001 --user-group --home-dir /var/lib/taskd --no-create-home \
      --shell /usr/sbin/nologin taskd \
 && install -d -o taskd -g taskd -m 0700 /var/lib/taskd
COPY --from=build /out/bin/ /usr/local/bin/
# Fails the build if a library is still missing.
RUN ! ldd /usr/local/bin/* | grep 'not found'

USER taskd
WORKDIR /var/lib/taskd
VOLUME /var/lib/taskd
ENV TASKD_LISTEN=0.0.0.0:8000 \
    TASKD_DATA_DIR=/var/lib/taskd
EXPOSE 8000
# SIGTERM (what `docker stop` sends) makes taskd stop accepting, finish in-flight requests
# within --shutdown-timeout (10 s; docker stop waits 10 s too: give it -t 15) and exit 0.
STOPSIGNAL SIGTERM
# No curl in the image: bash (essential in every Debian image) speaks HTTP/1.0 over /dev/tcp to
# the port TASKD_LISTEN names, and the check passes on a 200 status line.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${TASKD_LISTEN##*:} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && IFS= read -r -t 5 status <&3 && [[ $status == 'HTTP/1.'?' 200 '* ]]"]
ENTRYPOINT ["/usr/local/bin/taskd"]
