# The node proxy image (podid-nodeproxy, the original NMI). Build from the repository root:
#   docker build -f deploy/docker/nodeproxy.Dockerfile -t <registry>/podid-nodeproxy:v0.1.0 .
# Stage 1 builds with the release preset; stage 2 holds the binary, its runtime libraries (libnetfilter-conntrack
# for the conntrack flush), and the iptables and nft tools the node proxy runs to detect the node's backend and
# to write nf_tables rules.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev librocksdb-dev libssl-dev libcli11-dev \
      libiptc-dev libip4tc-dev libxtables-dev libnetfilter-conntrack-dev libyaml-cpp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release -B /build -DPODID_BUILD_TESTS=OFF -DPODID_WERROR=OFF \
    && cmake --build /build --target podid-nodeproxy podidctl \
    && strip /build/cli/podid-nodeproxy /build/cli/podidctl

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libssl3 libboost-json1.81.0 libyaml-cpp0.7 libip4tc2 libnetfilter-conntrack3 \
      libsnappy1v5 zlib1g libbz2-1.0 liblz4-1 libzstd1 \
      iptables nftables \
    && rm -rf /var/lib/apt/lists/*
# podidctl in the image: `kubectl exec` into the node proxy for the cleanup after a crash.
COPY --from=build /build/cli/podid-nodeproxy /build/cli/podidctl /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/podid-nodeproxy"]
