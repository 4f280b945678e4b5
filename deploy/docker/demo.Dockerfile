# The demo app image (the counterpart of the original demo image): gets tokens through IMDS, lists the VMs of
# a resource group through ARM, reads instance metadata. Build from the repository root:
#   docker build -f deploy/docker/demo.Dockerfile -t <registry>/podid-demo:v0.1.0 .
# It lives with the tests (tests/demo), so this build enables them (Catch2 is only needed to configure).
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config catch2 libcurl4-openssl-dev libbenchmark-dev \
      libboost1.81-dev libboost-json1.81-dev librocksdb-dev libssl-dev libcli11-dev \
      libiptc-dev libip4tc-dev libxtables-dev libnetfilter-conntrack-dev libyaml-cpp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release -B /build -DPODID_WERROR=OFF \
    && cmake --build /build --target podid-demo-app \
    && strip /build/tests/demo/podid-demo-app

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 libboost-json1.81.0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/tests/demo/podid-demo-app /usr/local/bin/
# As the original demo: --subscriptionid, --clientid, --resourcegroup; MY_POD_* from the downward API.
ENTRYPOINT ["/usr/local/bin/podid-demo-app"]
