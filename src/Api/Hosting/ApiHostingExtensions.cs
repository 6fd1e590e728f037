using Stepcast.Api.Sandbox;
using Stepcast.Api.Webhooks;
using Stepcast.Grains;
using Stepcast.Silo;
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
            builder.UseOrleans(silo => silo.AddStepcastSilo(builder.Configuration));
            builder.Services.AddChannelBootstrapper(builder.Configuration);
            builder.Services.AddHostedService<SampleScenarioLoader>();
            builder.AddSandbox();
        }
        else
        {
            builder.UseOrleansClient(client => client.UseStepcastPostgres(StepcastSiloBuilderExtensions.RequiredConnectionString(builder.Configuration)));
        }

        builder.AddWebhooks();
        return builder;
    }
}
