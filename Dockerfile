FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY peacewatch ./peacewatch
RUN pip install --no-cache-dir -c constraints.txt . && useradd --create-home peacewatch
USER peacewatch
ENV PEACEWATCH_DATA_DIR=/home/peacewatch/data
EXPOSE 3000
HEALTHCHECK CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PEACEWATCH_HTTP_PORT\",\"3000\")}/healthz', timeout=3)"
CMD ["peacewatch", "run"]
