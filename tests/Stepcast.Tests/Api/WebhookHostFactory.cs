using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;

namespace Stepcast.Tests.Api;

/// <summary>
/// The embedded host with a second channel from configuration, faster sandbox waits, and fault injection around
/// the friends' grain storage.
/// </summary>
public sealed class WebhookHostFactory : WebApplicationFactory<Program>
{
    public const string SandboxChannel = "sandbox";
    public const string SandboxSecret = "sandbox-channel-secret";
    public const string TestChannel = "webhook-test";
    public const string TestSecret = "webhook-test-secret";

    /// <summary>Ten days a second: the restaurant sample's "a week later" coupon comes under a second after the welcome.</summary>
    public const double WaitCompression = 864_000;

    public GrainStorageFaults FriendStorageFaults { get; } = new();

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public SandboxDeliveryRecorder Deliveries => Services.GetRequiredService<SandboxDeliveryRecorder>();

    public RecordingReminderTable Reminders => Services.GetRequiredService<RecordingReminderTable>();

    public Task<FriendSnapshot> FriendAsync(string channelId, string lineUserId) => Grains.GetFriend(channelId, lineUserId).GetSnapshot();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Stepcast:Channels:0:ChannelId", TestChannel);
        builder.UseSetting("Stepcast:Channels:0:ChannelSecret", TestSecret);
        builder.UseSetting("Stepcast:Channels:0:TimeZone", "Asia/Tokyo");
        // Scenarios published by a test apply to the next event at once.
        builder.UseSetting("Stepcast:Engine:CatalogCacheDuration", "00:00:00");
        builder.ConfigureTestServices(services =>
        {
            FaultInjectingGrainStorage.Decorate(services, StorageNames.Friends, FriendStorageFaults);
            RecordingReminderTable.Decorate(services);
            services.PostConfigure<EngineOptions>(engine => engine.WaitCompression = WaitCompression);
        });
    }
}
