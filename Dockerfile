# Kotodama on an NVIDIA GPU: ONNX Runtime 1.29's CUDA provider needs the CUDA 12 and cuDNN 9 user
# libraries, which this base image carries. Build: docker compose --profile gpu build
FROM eclipse-temurin:17-jdk-noble AS build
WORKDIR /src
COPY .mvn/ .mvn/
COPY mvnw pom.xml ./
RUN ./mvnw -B -ntp dependency:go-offline
COPY src/ src/
COPY frontend/src/ frontend/src/
RUN ./mvnw -B -ntp package -DskipTests -Dexec.skip=true \
    && cp target/kotodama-*-exec.jar /kotodama.jar

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /home/kotodama kotodama \
    && mkdir -p /models /var/cache/kotodama && chown 10001 /var/cache/kotodama
COPY --from=build /kotodama.jar /opt/kotodama/kotodama.jar
USER 10001
# KV caches live in the JVM's direct memory (by default only as much as the heap may grow): room for the
# default 2GB kotodama.kv-cache-budget and the other buffers; raise both together
ENV JAVA_TOOL_OPTIONS=-XX:MaxDirectMemorySize=3g \
    KOTODAMA_NATIVE_CACHE=/var/cache/kotodama \
    KOTODAMA_EXECUTION_PROVIDER=cuda
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=300s --retries=3 \
    CMD ["curl", "-fs", "http://localhost:8080/actuator/health/readiness"]
ENTRYPOINT ["java", "-jar", "/opt/kotodama/kotodama.jar"]
