using Stepcast.Api.Management;
using Stepcast.Api.Sandbox;
using Stepcast.Api.Webhooks;
using Stepcast.Grains;
using Stepcast.Grains.Hosting;
using Stepcast.Silo;
using Stepcast.Silo.Operations;
using Stepcast.Silo.Postgres;

namespace Stepcast.Api.Hosting;

public static class ApiHostingExtensions
{
    /// <summary>
    /// The front-end. Embedded (the default) hosts the silo in this process with in-memory storage and the
    /// sandbox; cluster runs as an Orleans client of the silo pods.
    /// </summary>
    public static WebApplicationBuilder AddStepcastApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        var topology = StepcastTopology.From(builder.Configuration);
        if (topology == StepcastTopology.Embedded)
        {
            builder.UseOrleans(silo => silo
                .AddStepcastSilo(builder.Configuration)
                .AddStepcastDashboard(builder.Configuration));
            builder.Services.AddChannelBootstrapper(builder.Configuration);
            builder.Services.AddHostedService<SampleScenarioLoader>();
            builder.AddSandbox();
        }
        else
        {
            var cluster = ClusterSettings.From(builder.Configuration);
            builder.UseOrleansClient(client => client
                .Configure<Orleans.Configuration.ClusterOptions>(options =>
                {
                    options.ClusterId = cluster.ClusterId;
                    options.ServiceId = cluster.ServiceId;
                })
                .UseStepcastPostgres(StepcastSiloBuilderExtensions.RequiredConnectionString(builder.Configuration))
                .AddStepcastConnectionState());
            builder.Services.AddStepcastEngine(builder.Configuration);
            // The sandbox recorder lives in the silos of a cluster, out of this process's reach.
            builder.Services.Configure<SandboxOptions>(options => options.Enabled = false);
        }

        builder.AddWebhooks();
        builder.AddManagementApi();
        builder.AddStepcastOperations("stepcast-api", hostsSilo: topology == StepcastTopology.Embedded);
        return builder;
    }
}
