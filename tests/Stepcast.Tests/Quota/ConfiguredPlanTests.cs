using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Channels;
using Stepcast.Silo;
using Stepcast.Grains.Quota;
using Stepcast.Tests.Api;

namespace Stepcast.Tests.Quota;

/// <summary>An SRE sets a channel's plan in configuration (<c>Stepcast:Channels:{n}:Plan</c>) rather than through the API.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class ConfiguredPlanTests
{
    [Fact]
    public async Task A_plan_in_configuration_is_set_on_the_channel_at_start()
    {
        await using var host = new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting("Stepcast:Channels:0:ChannelId", "configured-plan")
            .UseSetting("Stepcast:Channels:0:ChannelSecret", "configured-secret")
            .UseSetting("Stepcast:Channels:0:TimeZone", "America/New_York")
            .UseSetting("Stepcast:Channels:0:Plan", "standard")
            .UseSetting("Stepcast:Channels:0:ExtraMessageCap", "500")
            .UseSetting("Stepcast:Channels:0:WhenExhausted", "skip"));
        using var client = host.CreateClient();

        var status = await host.Services.GetRequiredService<IGrainFactory>().GetGrain<IPlanQuotaGrain>("configured-plan").GetStatus();

        Assert.Equal(LinePlan.Standard, status.Settings.Plan);
        Assert.Equal(30_500, status.Limit);
        Assert.Equal(QuotaExhaustedPolicy.Skip, status.Settings.WhenExhausted);
        Assert.Equal("America/New_York", status.Settings.TimeZone);
    }

    [Theory]
    [InlineData("gold", null, null, "Plan 'gold'")]
    [InlineData("light", 500L, null, "ExtraMessageCap")]
    [InlineData("custom", null, null, "CustomMonthlyLimit")]
    public async Task An_impossible_plan_in_configuration_stops_the_start_naming_the_key(string plan, long? extraCap, long? customLimit, string message)
    {
        var options = new ChannelBootstrapOptions();
        options.Channels.Add(new ChannelRegistration { ChannelId = "ch", ChannelSecret = "s", Plan = plan, ExtraMessageCap = extraCap, CustomMonthlyLimit = customLimit });
        // Validation runs before any channel is written, so no grain factory is needed.
        var bootstrapper = new ChannelBootstrapper(new ChannelSettingsCache(null!, TimeProvider.System), null!, Options.Create(options), TimeProvider.System, NullLogger<ChannelBootstrapper>.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bootstrapper.StartAsync(CancellationToken.None));

        Assert.Contains("Stepcast:Channels:0:", error.Message);
        Assert.Contains(message, error.Message);
    }
}
