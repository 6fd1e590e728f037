namespace Stepcast.Grains.Line.Webhooks;

/// <summary>The <c>message</c> object of a message event (what a user sent), per webhook.yml's MessageContent.</summary>
[GenerateSerializer, Immutable]
public abstract record MessageContent
{
    /// <summary>Message ID (needed to fetch media content).</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>The message's <c>type</c> as sent.</summary>
    [Id(1)] public required string Type { get; init; }

    /// <summary>Token to quote this message in a reply; absent for some types.</summary>
    [Id(2)] public string? QuoteToken { get; init; }

    /// <summary>Token to mark this message as read.</summary>
    [Id(3)] public string? MarkAsReadToken { get; init; }
}

/// <summary>Where media content lives (<c>contentProvider</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record ContentProvider(
    [property: Id(0)] string Type,
    [property: Id(1)] string? OriginalContentUrl,
    [property: Id(2)] string? PreviewImageUrl);

/// <summary>Images sent together (<c>imageSet</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record ImageSet(
    [property: Id(0)] string Id,
    [property: Id(1)] int? Index,
    [property: Id(2)] int? Total);

[GenerateSerializer, Immutable]
public sealed record TextMessageContent : MessageContent
{
    [Id(0)] public required string Text { get; init; }

    /// <summary>ID of the message this one quotes, when it quotes one.</summary>
    [Id(1)] public string? QuotedMessageId { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record ImageMessageContent : MessageContent
{
    [Id(0)] public ContentProvider? ContentProvider { get; init; }
    [Id(1)] public ImageSet? ImageSet { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record VideoMessageContent : MessageContent
{
    [Id(0)] public ContentProvider? ContentProvider { get; init; }

    /// <summary>Length in milliseconds, when known.</summary>
    [Id(1)] public long? Duration { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record AudioMessageContent : MessageContent
{
    [Id(0)] public ContentProvider? ContentProvider { get; init; }

    /// <summary>Length in milliseconds, when known.</summary>
    [Id(1)] public long? Duration { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record FileMessageContent : MessageContent
{
    [Id(0)] public string? FileName { get; init; }
    [Id(1)] public long? FileSize { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record LocationMessageContent : MessageContent
{
    [Id(0)] public string? Title { get; init; }
    [Id(1)] public string? Address { get; init; }
    [Id(2)] public double Latitude { get; init; }
    [Id(3)] public double Longitude { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record StickerMessageContent : MessageContent
{
    [Id(0)] public required string PackageId { get; init; }
    [Id(1)] public required string StickerId { get; init; }
    [Id(2)] public string? StickerResourceType { get; init; }
    [Id(3)] public IReadOnlyList<string> Keywords { get; init; } = [];

    /// <summary>Text the user typed into a message sticker.</summary>
    [Id(4)] public string? Text { get; init; }
    [Id(5)] public string? QuotedMessageId { get; init; }
}

/// <summary>A message type this parser does not know; only the common fields are kept.</summary>
[GenerateSerializer, Immutable]
public sealed record UnknownMessageContent : MessageContent;
