using Stepcast.Grains.Tenants;

namespace Stepcast.Tests.Management;

public sealed class ApiKeySecretTests
{
    [Fact]
    public void A_generated_key_carries_its_id_and_matches_only_its_own_hash()
    {
        var (keyId, key) = ApiKeySecret.Generate();
        var (_, other) = ApiKeySecret.Generate();

        Assert.True(ApiKeySecret.TryParse(key, out var parsed));
        Assert.Equal(keyId, parsed);
        Assert.True(ApiKeySecret.Matches(ApiKeySecret.Hash(key), ApiKeySecret.Hash(key)));
        Assert.False(ApiKeySecret.Matches(ApiKeySecret.Hash(key), ApiKeySecret.Hash(other)));
        Assert.DoesNotContain(key, Convert.ToBase64String(ApiKeySecret.Hash(key)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("pk_abc_def")]
    [InlineData("sk_")]
    [InlineData("sk__secret")]
    [InlineData("sk_abc_")]
    [InlineData("sk_abcdef")]
    public void Anything_else_is_not_a_key(string? presented) =>
        Assert.False(ApiKeySecret.TryParse(presented, out _));
}
