using Microsoft.Extensions.Configuration.Memory;
using Stepcast.Silo.Postgres;

namespace Stepcast.Silo;

/// <summary>The silo host of the cluster topology (named so it does not clash with the API's Program in tests).</summary>
public static class SiloProgram
{
    public static async Task<int> Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        // Lowest-precedence defaults for a silo pod (no appsettings.json here: the API, which references this
        // project, would receive it as its own).
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                [StepcastTopologyExtensions.ConfigurationKey] = nameof(StepcastTopology.Cluster),
                ["Logging:LogLevel:Orleans"] = "Warning",
                ["Logging:LogLevel:Polly"] = "Warning",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            },
        });
        if (args is [MigrateCommand.Name, ..])
        {
            return await MigrateCommand.RunAsync(builder.Configuration, Console.Out, CancellationToken.None);
        }

        builder.UseOrleans(silo => silo.AddStepcastSilo(builder.Configuration));
        builder.Services.AddChannelBootstrapper(builder.Configuration);
        builder.Services.AddHostedService<SampleScenarioLoader>();
        await builder.Build().RunAsync();
        return 0;
    }
}
