# The API image (LINE webhooks; an Orleans client of the silos). Build from the repository root:
#   docker build -f deploy/docker/api.Dockerfile -t stepcast-api:dev .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY src/Grains/Stepcast.Grains.csproj src/Grains/
COPY src/Silo/Stepcast.Silo.csproj src/Silo/
COPY src/Api/Stepcast.Api.csproj src/Api/
# ReadyToRun: the host starts from precompiled code instead of JIT-compiling everything it touches first, which
# made the first burst of due friends after a start ~10 % slower (benchmarks/history.md, "Session 18").
ARG RID=linux-x64
RUN dotnet restore src/Api/Stepcast.Api.csproj -r $RID -p:PublishReadyToRun=true
COPY src/ src/
RUN dotnet publish src/Api/Stepcast.Api.csproj -c Release --no-restore -r $RID --self-contained false -p:PublishReadyToRun=true -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app ./
USER 1654
# appsettings.json binds localhost:5080 for `dotnet run`; a container listens on every interface.
ENV Urls=http://+:8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "Stepcast.Api.dll"]
