using Stepcast.Silo.Operations;

namespace Stepcast.Silo;

public static class SiloHostingExtensions
{
    /// <summary>A silo pod: the silo, the channels from configuration, the sample scenarios, and operability.</summary>
    public static WebApplicationBuilder AddStepcastSiloHost(this WebApplicationBuilder builder)
    {
        builder.UseOrleans(silo => silo
            .AddStepcastSilo(builder.Configuration)
            .AddStepcastDashboard(builder.Configuration));
        builder.Services.AddChannelBootstrapper(builder.Configuration);
        builder.Services.AddHostedService<SampleScenarioLoader>();
        builder.AddStepcastOperations("stepcast-silo", hostsSilo: true);
        return builder;
    }
}
