# The silo image. Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t stepcast-silo:dev .
# The same image runs the schema migration: pass the argument `migrate`.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so a code change does not invalidate the package layer.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY src/Grains/Stepcast.Grains.csproj src/Grains/
COPY src/Silo/Stepcast.Silo.csproj src/Silo/
# ReadyToRun: the host starts from precompiled code instead of JIT-compiling everything it touches first, which
# made the first burst of due friends after a start ~10 % slower (benchmarks/history.md, "Session 18").
ARG RID=linux-x64
RUN dotnet restore src/Silo/Stepcast.Silo.csproj -r $RID -p:PublishReadyToRun=true
COPY src/Grains/ src/Grains/
COPY src/Silo/ src/Silo/
RUN dotnet publish src/Silo/Stepcast.Silo.csproj -c Release --no-restore -r $RID --self-contained false -p:PublishReadyToRun=true -o /app /p:UseAppHost=false

# Chiseled: no shell, no package manager, and a non-root user (app, 1654) by default.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app ./
USER 1654
# 11111 silo-to-silo, 30000 gateway for the API's Orleans clients, 8080 probes, /metrics and /dashboard.
EXPOSE 11111 30000 8080
ENTRYPOINT ["dotnet", "Stepcast.Silo.dll"]
