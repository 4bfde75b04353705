# syntax=docker/dockerfile:1
# Build a static flyte-entrypoint and ship it FROM scratch.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs \
      -ldflags "-s -w -X github.com/flyte-entrypoint/flyte-entrypoint/internal/version.Version=${VERSION}" \
      -o /out/flyte-entrypoint ./cmd/flyte-entrypoint \
 && mkdir -p /out/etc /out/tmp \
 && echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /out/etc/passwd \
 && echo 'nonroot:x:65532:' > /out/etc/group

# The shim alone: copy /flyte-entrypoint into a task image from here.
FROM scratch AS flyte-entrypoint
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build /out/flyte-entrypoint /flyte-entrypoint
USER 65532:65532
ENTRYPOINT ["/flyte-entrypoint"]

# An example task image. The shim runs as root so that it can write
# /etc/flyte/secrets and then drop to the task's user (--user); pass
# --user 65532:65532 (or FLYTE_ENTRYPOINT_USER) to run the task unprivileged.
FROM python:3.12-slim AS example-task
COPY --from=flyte-entrypoint /flyte-entrypoint /usr/local/bin/flyte-entrypoint
ENTRYPOINT ["flyte-entrypoint", "--"]
CMD ["python", "-c", "import os; print('OPENAI_API_KEY set:', 'OPENAI_API_KEY' in os.environ)"]
