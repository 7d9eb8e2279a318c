# Builds the one binary every container runs (`huiyuan serve --service ...`).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.work go.work.sum ./
COPY gen gen
COPY pkg pkg
COPY services services
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/huiyuan ./services/suite/cmd/huiyuan

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/huiyuan /usr/local/bin/huiyuan
USER nonroot
VOLUME /data
ENV HUIYUAN_DATA_DIR=/data
ENTRYPOINT ["/usr/local/bin/huiyuan"]
CMD ["serve"]
