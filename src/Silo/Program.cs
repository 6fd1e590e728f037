using Microsoft.Extensions.Configuration.Memory;
using Stepcast.Silo.Operations;
using Stepcast.Silo.Postgres;

namespace Stepcast.Silo;

/// <summary>The silo host of the cluster topology (named so it does not clash with the API's Program in tests).</summary>
public static class SiloProgram
{
    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // Lowest-precedence defaults for a silo pod (no appsettings.json here: the API, which references this
        // project, would receive it as its own). Port 8080 serves only probes, metrics and the dashboard.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                [StepcastTopologyExtensions.ConfigurationKey] = nameof(StepcastTopology.Cluster),
                ["Urls"] = "http://+:8080",
                ["Logging:LogLevel:Orleans"] = "Warning",
                ["Logging:LogLevel:Polly"] = "Warning",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            },
        });
        if (args is [MigrateCommand.Name, ..])
        {
            return await MigrateCommand.RunAsync(builder.Configuration, Console.Out, CancellationToken.None);
        }

        builder.AddStepcastSiloHost();
        var app = builder.Build();
        app.MapStepcastOperations();
        await app.RunAsync();
        return 0;
    }
}
