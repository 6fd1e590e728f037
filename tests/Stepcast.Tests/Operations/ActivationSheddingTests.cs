using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Stepcast.Silo;

namespace Stepcast.Tests.Operations;

/// <summary>
/// A cluster silo sheds least recently used activations when its memory runs short, rather than be killed at its pod's
/// limit; the embedded host does not (its storage is its own memory), and configuration can say otherwise.
/// Built, not started: nothing here needs PostgreSQL.
/// </summary>
public sealed class ActivationSheddingTests
{
    [Theory]
    [InlineData("Cluster", null, true)]
    [InlineData("Cluster", "false", false)]
    [InlineData("Embedded", null, false)]
    public void Cluster_silos_shed_activations_under_memory_pressure_unless_configured_not_to(string topology, string? setting, bool sheds)
    {
        var options = SiloOptions(new()
        {
            [StepcastTopologyExtensions.ConfigurationKey] = topology,
            [$"{ClusterSettings.SectionName}:GrainCollection:EnableActivationSheddingOnMemoryPressure"] = setting,
        });

        Assert.Equal(sheds, options.EnableActivationSheddingOnMemoryPressure);
    }

    [Fact]
    public void The_cluster_silo_thresholds_come_from_configuration()
    {
        var options = SiloOptions(new()
        {
            [StepcastTopologyExtensions.ConfigurationKey] = "Cluster",
            [$"{ClusterSettings.SectionName}:GrainCollection:MemoryUsageLimitPercentage"] = "70",
            [$"{ClusterSettings.SectionName}:GrainCollection:MemoryUsageTargetPercentage"] = "60",
        });

        Assert.True(options.EnableActivationSheddingOnMemoryPressure);
        Assert.Equal((70d, 60d), (options.MemoryUsageLimitPercentage, options.MemoryUsageTargetPercentage));
    }

    private static GrainCollectionOptions SiloOptions(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        settings["ConnectionStrings:Stepcast"] = "Host=127.0.0.1;Port=1;Database=never-opened";
        // A key with no value would bind as false: unset means absent.
        builder.Configuration.AddInMemoryCollection(settings.Where(setting => setting.Value is not null));
        builder.UseOrleans(silo => silo.AddStepcastSilo(builder.Configuration));
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
    }
}
