# shipper as a container: `shipper run -c /etc/shipper/shipper.yml` as an unprivileged user (docker-compose.yml)
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shipper ./shipper
COPY grok_patterns ./grok_patterns
COPY index_templates ./index_templates
COPY kibana_dashboards ./kibana_dashboards
COPY docs/shipper.1 ./docs/shipper.1
RUN pip install --no-cache-dir . && useradd --system --home-dir /var/lib/shipper --create-home shipper \
    && rm -rf /src
USER shipper
WORKDIR /var/lib/shipper
ENTRYPOINT ["shipper"]
CMD ["run", "-c", "/etc/shipper/shipper.yml"]
