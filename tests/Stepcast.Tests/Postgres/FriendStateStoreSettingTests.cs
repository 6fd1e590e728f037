using Microsoft.Extensions.Configuration;
using Stepcast.Silo;
using Stepcast.Silo.Postgres;

namespace Stepcast.Tests.Postgres;

public sealed class FriendStateStoreSettingTests
{
    private static FriendStateStore Read(string? value) => StepcastSiloBuilderExtensions.FriendStateStoreFrom(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [StepcastSiloBuilderExtensions.FriendStateStoreKey] = value }).Build());

    [Theory]
    [InlineData(null, FriendStateStore.Batched)]
    [InlineData("", FriendStateStore.Batched)]
    [InlineData("batched", FriendStateStore.Batched)]
    [InlineData("AdoNet", FriendStateStore.AdoNet)]
    public void The_friend_state_store_is_batched_unless_set(string? value, FriendStateStore expected) =>
        Assert.Equal(expected, Read(value));

    [Theory]
    [InlineData("memory")]
    [InlineData("1")]
    public void An_unknown_friend_state_store_stops_the_start_naming_the_key(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read(value));
        Assert.Contains("Stepcast:Postgres:FriendStateStore", error.Message);
        Assert.Contains(value, error.Message);
    }
}
