using System.Text.Json.Nodes;
using Stepcast.Silo.Operations;

namespace Stepcast.Tests.Deployment;

/// <summary>
/// The manifests SREs apply: each overlay renders, every object is valid Kubernetes, and the properties a
/// rolling, draining Orleans cluster depends on hold in the rendered output (not just in the base).
/// </summary>
public sealed class KubernetesManifestTests
{
    public static TheoryData<string> Overlays => new() { "dev", "prod" };

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Overlay_renders_and_every_object_is_valid_against_the_Kubernetes_schemas(string overlay)
    {
        var manifests = RenderedManifests.Of(overlay);

        Assert.Empty(manifests.SchemaErrors);
        Assert.NotEmpty(manifests.Objects);
        Assert.All(manifests.Objects.Where(o => (string?)o["kind"] != "Namespace"),
            o => Assert.Equal(overlay == "prod" ? "stepcast" : "stepcast-dev", (string?)o["metadata"]?["namespace"]));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Silo_deployment_takes_its_identity_from_the_downward_API_and_rolls_without_losing_capacity(string overlay)
    {
        var silo = RenderedManifests.Of(overlay).Single("Deployment", "stepcast-silo");
        var container = OnlyContainer(silo);

        Assert.Equal("metadata.name", FieldRef(container, "POD_NAME"));
        Assert.Equal("status.podIP", FieldRef(container, "POD_IP"));
        Assert.Equal("metadata.labels['orleans/serviceId']", FieldRef(container, "ORLEANS_SERVICE_ID"));
        Assert.Equal("metadata.labels['orleans/clusterId']", FieldRef(container, "ORLEANS_CLUSTER_ID"));
        var podLabels = silo["spec"]!["template"]!["metadata"]!["labels"]!;
        Assert.False(string.IsNullOrEmpty((string?)podLabels["orleans/serviceId"]));
        Assert.False(string.IsNullOrEmpty((string?)podLabels["orleans/clusterId"]));

        Assert.Equal(11111, ContainerPort(container, "silo"));
        Assert.Equal(30000, ContainerPort(container, "gateway"));
        Assert.Equal("11111", EnvValue(container, "Stepcast__Cluster__SiloPort"));
        Assert.Equal("30000", EnvValue(container, "Stepcast__Cluster__GatewayPort"));

        Assert.Equal("RollingUpdate", (string?)silo["spec"]!["strategy"]!["type"]);
        Assert.Equal(0, (int)silo["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]!);
        Assert.Equal("Cluster", ConfigValue(overlay, "Stepcast__Topology"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Pods_get_longer_to_stop_than_the_host_takes_to_shut_down(string overlay)
    {
        foreach (var name in new[] { "stepcast-silo", "stepcast-api" })
        {
            var deployment = RenderedManifests.Of(overlay).Single("Deployment", name);
            var container = OnlyContainer(deployment);
            var shutdown = EnvValue(container, "Stepcast__Shutdown__Timeout") is { } configured
                ? TimeSpan.Parse(configured)
                : new ShutdownOptions().Timeout;
            var drain = EnvValue(container, "Stepcast__Shutdown__DrainDelay") is { } delay ? TimeSpan.Parse(delay) : TimeSpan.Zero;
            var grace = (int)deployment["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]!;

            Assert.True(grace > shutdown.TotalSeconds, $"{name}: terminationGracePeriodSeconds {grace} is not longer than the shutdown timeout {shutdown}");
            Assert.True(shutdown > drain, $"{name}: the drain delay {drain} leaves no time to shut down within {shutdown}");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_long_running_pod_has_probes_a_CPU_request_no_CPU_limit_and_no_service_account_token(string overlay)
    {
        foreach (var name in new[] { "stepcast-silo", "stepcast-api" })
        {
            var deployment = RenderedManifests.Of(overlay).Single("Deployment", name);
            var container = OnlyContainer(deployment);

            Assert.Equal("/health/startup", (string?)container["startupProbe"]?["httpGet"]?["path"]);
            Assert.Equal("/health/ready", (string?)container["readinessProbe"]?["httpGet"]?["path"]);
            Assert.Equal("/health/live", (string?)container["livenessProbe"]?["httpGet"]?["path"]);
            Assert.Equal(8080, ContainerPort(container, "http"));
            Assert.NotNull(container["resources"]?["requests"]?["cpu"]);
            Assert.Null(container["resources"]?["limits"]?["cpu"]);
            Assert.False((bool)deployment["spec"]!["template"]!["spec"]!["automountServiceAccountToken"]!);
            Assert.True((bool)deployment["spec"]!["template"]!["spec"]!["securityContext"]!["runAsNonRoot"]!);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Both_deployments_autoscale_the_API_has_a_service_and_silos_a_disruption_budget(string overlay)
    {
        var manifests = RenderedManifests.Of(overlay);

        foreach (var name in new[] { "stepcast-silo", "stepcast-api" })
        {
            var autoscaler = manifests.Single("HorizontalPodAutoscaler", name);
            Assert.Equal("Deployment", (string?)autoscaler["spec"]!["scaleTargetRef"]!["kind"]);
            Assert.Equal(name, (string?)autoscaler["spec"]!["scaleTargetRef"]!["name"]);
            var deployment = manifests.Single("Deployment", name);
            Assert.True((int)autoscaler["spec"]!["minReplicas"]! <= (int)deployment["spec"]!["replicas"]!);
        }

        var budget = manifests.Single("PodDisruptionBudget", "stepcast-silo");
        Assert.Equal("stepcast-silo", (string?)budget["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/name"]);
        var service = manifests.Single("Service", "stepcast-api");
        Assert.Equal("stepcast-api", (string?)service["spec"]!["selector"]!["app.kubernetes.io/name"]);
        Assert.Equal("http", (string?)service["spec"]!["ports"]![0]!["targetPort"]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void No_secret_value_is_in_the_manifests_only_references_to_secrets(string overlay)
    {
        var manifests = RenderedManifests.Of(overlay);

        Assert.Empty(manifests.OfKind("Secret"));
        foreach (var config in manifests.OfKind("ConfigMap"))
        {
            Assert.All(config["data"]!.AsObject(), entry => Assert.DoesNotMatch("(?i)password|secret|token", entry.Key + "=" + entry.Value));
        }

        foreach (var workload in manifests.Objects.Where(o => o["spec"]?["template"]?["spec"]?["containers"] is not null))
        {
            foreach (var env in workload["spec"]!["template"]!["spec"]!["containers"]!.AsArray().SelectMany(c => c!["env"]?.AsArray() ?? []))
            {
                Assert.DoesNotMatch("(?i)password=|secret|token", (string?)env!["value"] ?? "");
            }
        }

        foreach (var name in new[] { "stepcast-silo", "stepcast-api" })
        {
            var connection = Env(OnlyContainer(manifests.Single("Deployment", name)), "ConnectionStrings__Stepcast");
            Assert.Null(connection?["value"]);
            Assert.Equal("stepcast-database", (string?)connection?["valueFrom"]?["secretKeyRef"]?["name"]);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void A_job_migrates_the_schema_with_the_silo_image(string overlay)
    {
        var manifests = RenderedManifests.Of(overlay);
        var job = manifests.Single("Job", "stepcast-migrate");
        var migrate = OnlyContainer(job);
        var silo = OnlyContainer(manifests.Single("Deployment", "stepcast-silo"));

        Assert.Equal(["migrate"], migrate["args"]!.AsArray().Select(a => (string?)a));
        Assert.Equal((string?)silo["image"], (string?)migrate["image"]);
        Assert.Equal("stepcast-database", (string?)Env(migrate, "ConnectionStrings__Stepcast")?["valueFrom"]?["secretKeyRef"]?["name"]);
    }

    [Fact]
    public void Dev_runs_its_own_PostgreSQL_and_prod_uses_an_external_one()
    {
        var dev = RenderedManifests.Of("dev");
        var postgres = dev.Single("StatefulSet", "stepcast-postgres");
        Assert.Equal("stepcast-postgres", (string?)dev.Single("Service", "stepcast-postgres")["spec"]!["selector"]!["app.kubernetes.io/name"]);
        Assert.Equal("stepcast-postgres", (string?)Env(OnlyContainer(postgres), "POSTGRES_PASSWORD")?["valueFrom"]?["secretKeyRef"]?["name"]);

        var prod = RenderedManifests.Of("prod");
        Assert.Empty(prod.OfKind("StatefulSet"));
        Assert.DoesNotContain(prod.Objects, o => ((string?)o["metadata"]?["name"])?.Contains("postgres", StringComparison.Ordinal) == true);
    }

    private static JsonObject OnlyContainer(JsonObject workload) =>
        Assert.Single(workload["spec"]!["template"]!["spec"]!["containers"]!.AsArray())!.AsObject();

    private static JsonObject? Env(JsonObject container, string name) =>
        container["env"]?.AsArray().SingleOrDefault(e => (string?)e!["name"] == name)?.AsObject();

    private static string? EnvValue(JsonObject container, string name) => (string?)Env(container, name)?["value"];

    private static string? FieldRef(JsonObject container, string name) => (string?)Env(container, name)?["valueFrom"]?["fieldRef"]?["fieldPath"];

    private static int? ContainerPort(JsonObject container, string name) =>
        (int?)container["ports"]?.AsArray().SingleOrDefault(p => (string?)p!["name"] == name)?["containerPort"];

    private static string? ConfigValue(string overlay, string key) =>
        (string?)Assert.Single(RenderedManifests.Of(overlay).OfKind("ConfigMap"))["data"]?[key];
}
