# The controller image (podid-controller, the original MIC). Build from the repository root:
#   docker build -f deploy/docker/controller.Dockerfile -t <registry>/podid-controller:v0.1.0 .
# Stage 1 builds with the release preset; stage 2 holds the binary and its runtime libraries only.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev librocksdb-dev libssl-dev libcli11-dev \
      libiptc-dev libip4tc-dev libxtables-dev libnetfilter-conntrack-dev libyaml-cpp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release -B /build -DPODID_BUILD_TESTS=OFF -DPODID_WERROR=OFF \
    && cmake --build /build --target podid-controller podidctl \
    && strip /build/cli/podid-controller /build/cli/podidctl

FROM debian:bookworm-slim
# RocksDB is linked statically; these are the shared libraries it and the controller load.
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libssl3 libboost-json1.81.0 libyaml-cpp0.7 \
      libsnappy1v5 zlib1g libbz2-1.0 liblz4-1 libzstd1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/cli/podid-controller /build/cli/podidctl /usr/local/bin/
# The event log lives here (an emptyDir or a PersistentVolumeClaim in the manifests).
VOLUME /var/lib/podid/events
ENTRYPOINT ["/usr/local/bin/podid-controller"]
