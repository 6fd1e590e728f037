using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stepcast.Grains;
using Stepcast.Grains.Hosting;

namespace Stepcast.Tests.Engine;

public sealed class EngineOptionsTests
{
    [Theory]
    [InlineData("00:00:26")]
    [InlineData("-00:00:01")]
    public async Task A_throttled_retry_window_outside_the_grain_call_timeout_stops_the_start_naming_the_setting(string value)
    {
        using var host = BuildHost(new() { ["Stepcast:Engine:ThrottledRetryWindow"] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Stepcast:Engine:ThrottledRetryWindow", error.Message);
    }

    [Fact]
    public void A_throttled_retry_window_within_it_is_taken()
    {
        using var host = BuildHost(new() { ["Stepcast:Engine:ThrottledRetryWindow"] = "00:00:05" });

        Assert.Equal(TimeSpan.FromSeconds(5), host.Services.GetRequiredService<IOptions<EngineOptions>>().Value.ThrottledRetryWindow);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("NaN")]
    public async Task A_memory_threshold_that_is_not_a_percentage_stops_the_start_naming_the_setting(string value)
    {
        using var host = BuildHost(new() { ["Stepcast:Engine:ShortOfMemoryAtLoadPercent"] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Stepcast:Engine:ShortOfMemoryAtLoadPercent", error.Message);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("85", 85)]
    [InlineData("101", 101)]
    public void A_memory_threshold_from_zero_up_is_taken(string value, double expected)
    {
        using var host = BuildHost(new() { ["Stepcast:Engine:ShortOfMemoryAtLoadPercent"] = value });

        Assert.Equal(expected, host.Services.GetRequiredService<IOptions<EngineOptions>>().Value.ShortOfMemoryAtLoadPercent);
    }

    private static IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddStepcastEngine(builder.Configuration);
        return builder.Build();
    }
}
