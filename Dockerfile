# Kontor API image: build the release binary, run it on a slim Debian base.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin kontor

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/kontor --create-home kontor
COPY --from=build /src/target/release/kontor /usr/local/bin/kontor
USER kontor
WORKDIR /var/lib/kontor
ENV KONTOR_BIND=0.0.0.0:8080 \
    KONTOR_DATA_DIR=/var/lib/kontor/data \
    KONTOR_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kontor"]
