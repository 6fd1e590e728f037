namespace Stepcast.Grains;

/// <summary>Grain storage provider names. Friends get their own, as they are by far the most rows.</summary>
public static class StorageNames
{
    public const string Friends = "friends";
}
