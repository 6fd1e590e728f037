using System.Collections.ObjectModel;
using System.Text;
using System.Text.Json;

namespace Stepcast.Grains.Line.Webhooks;

/// <summary>
/// Parses LINE webhook bodies (webhook.yml's CallbackRequest) with a forward-only <see cref="Utf8JsonReader"/>: no
/// reflection, no DOM, one pass, allocations only for the values kept. Unknown event types, message types and
/// properties are skipped, because LINE adds them without notice and a failing webhook gets disabled; only invalid
/// JSON or a known property of the wrong shape is an error.
/// </summary>
public static class WebhookParser
{
    /// <summary>Parses a webhook body. Verify its signature (<see cref="LineSignature"/>) first.</summary>
    /// <exception cref="WebhookParseException">The body is not valid JSON or a known field has the wrong shape.</exception>
    public static WebhookPayload Parse(ReadOnlySpan<byte> utf8Body)
    {
        var parser = new Parser(utf8Body);
        try
        {
            return parser.ParsePayload();
        }
        catch (JsonException exception)
        {
            throw new WebhookParseException(parser.Path(), "malformed JSON: " + exception.Message, exception);
        }
    }

    private struct Frame
    {
        public bool IsArray;
        public int Index;
        public string? Name;
        public int NameStart;
        public int NameLength;
    }

    private struct EventFields
    {
        public string? Type, Mode, WebhookEventId, ReplyToken;
        public long? Timestamp;
        public WebhookSource? Source;
        public bool IsRedelivery, IsUnblocked;
        public MessageContent? Message;
        public string? PostbackData;
        public Dictionary<string, string>? PostbackParams;
        public List<WebhookSource>? Members;
        public string? BeaconHwid, BeaconType, BeaconDm;
        public string? LinkResult, LinkNonce;
        public string? ThingsDeviceId, ThingsType;
        public string? UnsendMessageId, TrackingId;
        public string? MembershipType;
        public long? MembershipId;
        public string? ModuleJson, ModuleType, ModuleBotId;
        public long? ChatControlExpireAt;
        public string? DeliveryData;
    }

    private struct MessageFields
    {
        public string? Id, Type, Text, QuoteToken, QuotedMessageId, MarkAsReadToken;
        public ContentProvider? ContentProvider;
        public ImageSet? ImageSet;
        public long? Duration, FileSize;
        public string? FileName, Title, Address;
        public double? Latitude, Longitude;
        public string? PackageId, StickerId, StickerResourceType;
        public List<string>? Keywords;
    }

    private ref struct Parser
    {
        private readonly ReadOnlySpan<byte> _json;
        private Utf8JsonReader _reader;
        private Frame[] _frames;
        private int _depth;

        public Parser(ReadOnlySpan<byte> json)
        {
            _json = json;
            _reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            _frames = new Frame[8];
            _depth = 0;
        }

        public WebhookPayload ParsePayload()
        {
            Read();
            if (_reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error("the body must be a JSON object");
            }

            Push(isArray: false);
            string? destination = null;
            List<WebhookEvent>? events = null;
            while (NextProperty())
            {
                if (Is("destination"u8, "destination"))
                {
                    destination = ReadString();
                }
                else if (Is("events"u8, "events"))
                {
                    events = ReadEvents();
                }
                else
                {
                    _reader.Skip();
                }
            }

            if (_reader.Read())
            {
                throw Error("unexpected content after the JSON object");
            }

            return new WebhookPayload(destination ?? throw Missing("destination"), events is null ? [] : events);
        }

        /// <summary>JSON path of the property or element being read, e.g. <c>$.events[1].source.userId</c>.</summary>
        public readonly string Path()
        {
            var path = new StringBuilder("$");
            for (var i = 0; i < _depth; i++)
            {
                ref readonly var frame = ref _frames[i];
                if (frame.IsArray)
                {
                    if (frame.Index >= 0)
                    {
                        path.Append('[').Append(frame.Index).Append(']');
                    }
                }
                else if (frame.Name is not null)
                {
                    path.Append('.').Append(frame.Name);
                }
                else if (frame.NameLength > 0)
                {
                    // Unknown property: its name is only decoded when an error needs it.
                    path.Append('.').Append(Encoding.UTF8.GetString(_json.Slice(frame.NameStart, frame.NameLength)));
                }
            }

            return path.ToString();
        }

        private List<WebhookEvent>? ReadEvents()
        {
            if (!BeginArrayValue())
            {
                return null;
            }

            var events = new List<WebhookEvent>();
            while (NextElement())
            {
                events.Add(ReadEvent());
            }

            return events;
        }

        private WebhookEvent ReadEvent()
        {
            if (_reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error("an event must be a JSON object");
            }

            Push(isArray: false);
            var f = default(EventFields);
            while (NextProperty())
            {
                if (Is("type"u8, "type")) f.Type = ReadString();
                else if (Is("mode"u8, "mode")) f.Mode = ReadString();
                else if (Is("timestamp"u8, "timestamp")) f.Timestamp = ReadInt64();
                else if (Is("source"u8, "source")) f.Source = ReadSource();
                else if (Is("webhookEventId"u8, "webhookEventId")) f.WebhookEventId = ReadString();
                else if (Is("deliveryContext"u8, "deliveryContext")) f.IsRedelivery = ReadDeliveryContext();
                else if (Is("replyToken"u8, "replyToken")) f.ReplyToken = ReadString();
                else if (Is("message"u8, "message")) f.Message = ReadMessage();
                else if (Is("follow"u8, "follow")) ReadFollow(ref f);
                else if (Is("postback"u8, "postback")) ReadPostback(ref f);
                else if (Is("joined"u8, "joined")) f.Members = ReadMembers();
                else if (Is("left"u8, "left")) f.Members = ReadMembers();
                else if (Is("beacon"u8, "beacon")) ReadBeacon(ref f);
                else if (Is("link"u8, "link")) ReadLink(ref f);
                else if (Is("things"u8, "things")) ReadThings(ref f);
                else if (Is("unsend"u8, "unsend")) f.UnsendMessageId = ReadSingleString("messageId"u8, "messageId");
                else if (Is("videoPlayComplete"u8, "videoPlayComplete")) f.TrackingId = ReadSingleString("trackingId"u8, "trackingId");
                else if (Is("membership"u8, "membership")) ReadMembership(ref f);
                else if (Is("module"u8, "module")) ReadModule(ref f);
                else if (Is("chatControl"u8, "chatControl")) f.ChatControlExpireAt = ReadChatControl();
                else if (Is("delivery"u8, "delivery")) f.DeliveryData = ReadSingleString("data"u8, "data");
                else _reader.Skip();
            }

            return BuildEvent(ref f);
        }

        private readonly WebhookEvent BuildEvent(ref EventFields f)
        {
            var type = f.Type ?? throw Missing("type");
            var timestamp = f.Timestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : throw Missing("timestamp");
            var mode = f.Mode;
            var source = f.Source;
            var id = f.WebhookEventId;
            var redelivery = f.IsRedelivery;

            // Spelled out per type (not a `with` on a base) so each event is one allocation.
            return type switch
            {
                "message" => new MessageEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, Message = f.Message ?? throw Missing("message"),
                },
                "follow" => new FollowEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, IsUnblocked = f.IsUnblocked,
                },
                "unfollow" => new UnfollowEvent { Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery },
                "postback" => new PostbackEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, Data = f.PostbackData ?? throw Missing("postback.data"),
                    Params = (IReadOnlyDictionary<string, string>?)f.PostbackParams ?? ReadOnlyDictionary<string, string>.Empty,
                },
                "join" => new JoinEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken,
                },
                "leave" => new LeaveEvent { Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery },
                "memberJoined" => new MemberJoinedEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, Members = f.Members ?? (IReadOnlyList<WebhookSource>)[],
                },
                "memberLeft" => new MemberLeftEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    Members = f.Members ?? (IReadOnlyList<WebhookSource>)[],
                },
                "beacon" => new BeaconEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, Hwid = f.BeaconHwid ?? throw Missing("beacon.hwid"),
                    BeaconType = f.BeaconType ?? throw Missing("beacon.type"), DeviceMessage = f.BeaconDm,
                },
                "accountLink" => new AccountLinkEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, Result = f.LinkResult ?? throw Missing("link.result"), Nonce = f.LinkNonce ?? throw Missing("link.nonce"),
                },
                "things" => new ThingsEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, DeviceId = f.ThingsDeviceId, ThingsType = f.ThingsType,
                },
                "unsend" => new UnsendEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    MessageId = f.UnsendMessageId ?? throw Missing("unsend.messageId"),
                },
                "videoPlayComplete" => new VideoPlayCompleteEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, TrackingId = f.TrackingId ?? throw Missing("videoPlayComplete.trackingId"),
                },
                "membership" => new MembershipEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ReplyToken = f.ReplyToken, MembershipType = f.MembershipType ?? throw Missing("membership.type"),
                    MembershipId = f.MembershipId ?? 0,
                },
                "module" => new ModuleEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ModuleType = f.ModuleType, BotId = f.ModuleBotId, Json = f.ModuleJson ?? throw Missing("module"),
                },
                "activated" => new ActivatedEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    ChatControlExpireAt = f.ChatControlExpireAt is { } expireAt ? DateTimeOffset.FromUnixTimeMilliseconds(expireAt) : null,
                },
                "deactivated" => new DeactivatedEvent { Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery },
                "botSuspended" => new BotSuspendedEvent { Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery },
                "botResumed" => new BotResumedEvent { Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery },
                "delivery" => new DeliveryEvent
                {
                    Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery,
                    Data = f.DeliveryData ?? throw Missing("delivery.data"),
                },
                _ => new UnknownWebhookEvent { Type = type, Mode = mode, Timestamp = timestamp, Source = source, WebhookEventId = id, IsRedelivery = redelivery },
            };
        }

        private WebhookSource? ReadSource()
        {
            if (!BeginObjectValue())
            {
                return null;
            }

            string? type = null, userId = null, groupId = null, roomId = null;
            while (NextProperty())
            {
                if (Is("type"u8, "type")) type = ReadString();
                else if (Is("userId"u8, "userId")) userId = ReadString();
                else if (Is("groupId"u8, "groupId")) groupId = ReadString();
                else if (Is("roomId"u8, "roomId")) roomId = ReadString();
                else _reader.Skip();
            }

            return new WebhookSource(type ?? throw Missing("type"), userId, groupId, roomId);
        }

        private bool ReadDeliveryContext()
        {
            var isRedelivery = false;
            if (!BeginObjectValue())
            {
                return false;
            }

            while (NextProperty())
            {
                if (Is("isRedelivery"u8, "isRedelivery")) isRedelivery = ReadBoolean() ?? false;
                else _reader.Skip();
            }

            return isRedelivery;
        }

        private void ReadFollow(ref EventFields f)
        {
            if (!BeginObjectValue())
            {
                return;
            }

            while (NextProperty())
            {
                if (Is("isUnblocked"u8, "isUnblocked")) f.IsUnblocked = ReadBoolean() ?? false;
                else _reader.Skip();
            }
        }

        private void ReadPostback(ref EventFields f)
        {
            if (!BeginObjectValue())
            {
                return;
            }

            while (NextProperty())
            {
                if (Is("data"u8, "data"))
                {
                    f.PostbackData = ReadString();
                }
                else if (Is("params"u8, "params"))
                {
                    if (!BeginObjectValue())
                    {
                        continue;
                    }

                    var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
                    while (NextProperty())
                    {
                        var name = _reader.GetString()!;
                        Read();
                        if (_reader.TokenType == JsonTokenType.String)
                        {
                            parameters[name] = _reader.GetString()!;
                        }
                        else
                        {
                            // Values are strings today; anything else is a future extension we do not interpret.
                            _reader.Skip();
                        }
                    }

                    f.PostbackParams = parameters;
                }
                else
                {
                    _reader.Skip();
                }
            }
        }

        private List<WebhookSource>? ReadMembers()
        {
            if (!BeginObjectValue())
            {
                return null;
            }

            List<WebhookSource>? members = null;
            while (NextProperty())
            {
                if (Is("members"u8, "members") && BeginArrayValue())
                {
                    members = [];
                    while (NextElement())
                    {
                        members.Add(ReadSourceElement());
                    }
                }
                else if (_reader.TokenType == JsonTokenType.PropertyName)
                {
                    _reader.Skip();
                }
            }

            return members;
        }

        private WebhookSource ReadSourceElement()
        {
            if (_reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error("expected an object");
            }

            Push(isArray: false);
            string? type = null, userId = null, groupId = null, roomId = null;
            while (NextProperty())
            {
                if (Is("type"u8, "type")) type = ReadString();
                else if (Is("userId"u8, "userId")) userId = ReadString();
                else if (Is("groupId"u8, "groupId")) groupId = ReadString();
                else if (Is("roomId"u8, "roomId")) roomId = ReadString();
                else _reader.Skip();
            }

            return new WebhookSource(type ?? "user", userId, groupId, roomId);
        }

        private void ReadBeacon(ref EventFields f)
        {
            if (!BeginObjectValue())
            {
                return;
            }

            while (NextProperty())
            {
                if (Is("hwid"u8, "hwid")) f.BeaconHwid = ReadString();
                else if (Is("type"u8, "type")) f.BeaconType = ReadString();
                else if (Is("dm"u8, "dm")) f.BeaconDm = ReadString();
                else _reader.Skip();
            }
        }

        private void ReadLink(ref EventFields f)
        {
            if (!BeginObjectValue())
            {
                return;
            }

            while (NextProperty())
            {
                if (Is("result"u8, "result")) f.LinkResult = ReadString();
                else if (Is("nonce"u8, "nonce")) f.LinkNonce = ReadString();
                else _reader.Skip();
            }
        }

        private void ReadThings(ref EventFields f)
        {
            if (!BeginObjectValue())
            {
                return;
            }

            while (NextProperty())
            {
                if (Is("deviceId"u8, "deviceId")) f.ThingsDeviceId = ReadString();
                else if (Is("type"u8, "type")) f.ThingsType = ReadString();
                else _reader.Skip();
            }
        }

        private void ReadMembership(ref EventFields f)
        {
            if (!BeginObjectValue())
            {
                return;
            }

            while (NextProperty())
            {
                if (Is("type"u8, "type")) f.MembershipType = ReadString();
                else if (Is("membershipId"u8, "membershipId")) f.MembershipId = ReadInt64();
                else _reader.Skip();
            }
        }

        private void ReadModule(ref EventFields f)
        {
            Read();
            if (_reader.TokenType == JsonTokenType.Null)
            {
                return;
            }

            if (_reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error("expected an object");
            }

            // Keep the object verbatim, then pick out the two fields the engine may look at.
            var start = (int)_reader.TokenStartIndex;
            _reader.Skip();
            var raw = _json[start..(int)_reader.BytesConsumed];
            f.ModuleJson = Encoding.UTF8.GetString(raw);

            var inner = new Utf8JsonReader(raw);
            inner.Read();
            while (inner.Read() && inner.TokenType == JsonTokenType.PropertyName)
            {
                var isType = inner.ValueTextEquals("type"u8);
                var isBotId = inner.ValueTextEquals("botId"u8);
                inner.Read();
                if (inner.TokenType == JsonTokenType.String && (isType || isBotId))
                {
                    if (isType) f.ModuleType = inner.GetString();
                    else f.ModuleBotId = inner.GetString();
                }
                else
                {
                    inner.Skip();
                }
            }
        }

        private long? ReadChatControl()
        {
            if (!BeginObjectValue())
            {
                return null;
            }

            long? expireAt = null;
            while (NextProperty())
            {
                if (Is("expireAt"u8, "expireAt")) expireAt = ReadInt64();
                else _reader.Skip();
            }

            return expireAt;
        }

        /// <summary>Reads an object of which only one string property matters (unsend, videoPlayComplete, delivery).</summary>
        private string? ReadSingleString(ReadOnlySpan<byte> utf8Name, string name)
        {
            if (!BeginObjectValue())
            {
                return null;
            }

            string? value = null;
            while (NextProperty())
            {
                if (Is(utf8Name, name)) value = ReadString();
                else _reader.Skip();
            }

            return value;
        }

        private MessageContent? ReadMessage()
        {
            if (!BeginObjectValue())
            {
                return null;
            }

            var m = default(MessageFields);
            while (NextProperty())
            {
                if (Is("id"u8, "id")) m.Id = ReadString();
                else if (Is("type"u8, "type")) m.Type = ReadString();
                else if (Is("text"u8, "text")) m.Text = ReadString();
                else if (Is("quoteToken"u8, "quoteToken")) m.QuoteToken = ReadString();
                else if (Is("quotedMessageId"u8, "quotedMessageId")) m.QuotedMessageId = ReadString();
                else if (Is("markAsReadToken"u8, "markAsReadToken")) m.MarkAsReadToken = ReadString();
                else if (Is("contentProvider"u8, "contentProvider")) m.ContentProvider = ReadContentProvider();
                else if (Is("imageSet"u8, "imageSet")) m.ImageSet = ReadImageSet();
                else if (Is("duration"u8, "duration")) m.Duration = ReadInt64();
                else if (Is("fileName"u8, "fileName")) m.FileName = ReadString();
                else if (Is("fileSize"u8, "fileSize")) m.FileSize = ReadInt64();
                else if (Is("title"u8, "title")) m.Title = ReadString();
                else if (Is("address"u8, "address")) m.Address = ReadString();
                else if (Is("latitude"u8, "latitude")) m.Latitude = ReadDouble();
                else if (Is("longitude"u8, "longitude")) m.Longitude = ReadDouble();
                else if (Is("packageId"u8, "packageId")) m.PackageId = ReadString();
                else if (Is("stickerId"u8, "stickerId")) m.StickerId = ReadString();
                else if (Is("stickerResourceType"u8, "stickerResourceType")) m.StickerResourceType = ReadString();
                else if (Is("keywords"u8, "keywords")) m.Keywords = ReadStringArray();
                else _reader.Skip();
            }

            var id = m.Id ?? throw Missing("id");
            var type = m.Type ?? throw Missing("type");
            return type switch
            {
                "text" => new TextMessageContent
                {
                    Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken,
                    Text = m.Text ?? throw Missing("text"), QuotedMessageId = m.QuotedMessageId,
                },
                "image" => new ImageMessageContent
                {
                    Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken,
                    ContentProvider = m.ContentProvider, ImageSet = m.ImageSet,
                },
                "video" => new VideoMessageContent
                {
                    Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken,
                    ContentProvider = m.ContentProvider, Duration = m.Duration,
                },
                "audio" => new AudioMessageContent
                {
                    Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken,
                    ContentProvider = m.ContentProvider, Duration = m.Duration,
                },
                "file" => new FileMessageContent
                {
                    Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken,
                    FileName = m.FileName, FileSize = m.FileSize,
                },
                "location" => new LocationMessageContent
                {
                    Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken,
                    Title = m.Title, Address = m.Address,
                    Latitude = m.Latitude ?? throw Missing("latitude"), Longitude = m.Longitude ?? throw Missing("longitude"),
                },
                "sticker" => new StickerMessageContent
                {
                    Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken,
                    PackageId = m.PackageId ?? throw Missing("packageId"), StickerId = m.StickerId ?? throw Missing("stickerId"),
                    StickerResourceType = m.StickerResourceType, Keywords = m.Keywords ?? (IReadOnlyList<string>)[], Text = m.Text,
                    QuotedMessageId = m.QuotedMessageId,
                },
                _ => new UnknownMessageContent { Id = id, Type = type, QuoteToken = m.QuoteToken, MarkAsReadToken = m.MarkAsReadToken },
            };
        }

        private ContentProvider? ReadContentProvider()
        {
            if (!BeginObjectValue())
            {
                return null;
            }

            string? type = null, original = null, preview = null;
            while (NextProperty())
            {
                if (Is("type"u8, "type")) type = ReadString();
                else if (Is("originalContentUrl"u8, "originalContentUrl")) original = ReadString();
                else if (Is("previewImageUrl"u8, "previewImageUrl")) preview = ReadString();
                else _reader.Skip();
            }

            return new ContentProvider(type ?? throw Missing("type"), original, preview);
        }

        private ImageSet? ReadImageSet()
        {
            if (!BeginObjectValue())
            {
                return null;
            }

            string? id = null;
            long? index = null, total = null;
            while (NextProperty())
            {
                if (Is("id"u8, "id")) id = ReadString();
                else if (Is("index"u8, "index")) index = ReadInt64();
                else if (Is("total"u8, "total")) total = ReadInt64();
                else _reader.Skip();
            }

            return new ImageSet(id ?? throw Missing("id"), (int?)index, (int?)total);
        }

        private List<string>? ReadStringArray()
        {
            if (!BeginArrayValue())
            {
                return null;
            }

            var values = new List<string>();
            while (NextElement())
            {
                if (_reader.TokenType != JsonTokenType.String)
                {
                    throw Error("expected a string");
                }

                values.Add(_reader.GetString()!);
            }

            return values;
        }

        // ---- reader plumbing: every move goes through here so Path() always names the current position ----

        private void Read()
        {
            if (!_reader.Read())
            {
                throw Error("unexpected end of the body");
            }
        }

        private void Push(bool isArray)
        {
            if (_depth == _frames.Length)
            {
                Array.Resize(ref _frames, _depth * 2);
            }

            _frames[_depth++] = new Frame { IsArray = isArray, Index = -1 };
        }

        /// <summary>Moves to the next property name of the current object; false (and leaves the object) at its end.</summary>
        private bool NextProperty()
        {
            Read();
            if (_reader.TokenType == JsonTokenType.EndObject)
            {
                _depth--;
                return false;
            }

            ref var frame = ref _frames[_depth - 1];
            frame.Name = null;
            frame.NameStart = (int)_reader.TokenStartIndex + 1;
            frame.NameLength = _reader.ValueSpan.Length;
            return true;
        }

        /// <summary>Moves to the first token of the next element of the current array; false (and leaves the array) at its end.</summary>
        private bool NextElement()
        {
            Read();
            if (_reader.TokenType == JsonTokenType.EndArray)
            {
                _depth--;
                return false;
            }

            _frames[_depth - 1].Index++;
            return true;
        }

        private readonly bool Is(ReadOnlySpan<byte> utf8Name, string name)
        {
            if (!_reader.ValueTextEquals(utf8Name))
            {
                return false;
            }

            _frames[_depth - 1].Name = name;
            return true;
        }

        /// <summary>Reads a property value that should be an object; false when it is null (treated as absent).</summary>
        private bool BeginObjectValue()
        {
            Read();
            switch (_reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    Push(isArray: false);
                    return true;
                case JsonTokenType.Null:
                    return false;
                default:
                    throw Error("expected an object");
            }
        }

        /// <summary>Reads a property value that should be an array; false when it is null (treated as absent).</summary>
        private bool BeginArrayValue()
        {
            Read();
            switch (_reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    Push(isArray: true);
                    return true;
                case JsonTokenType.Null:
                    return false;
                default:
                    throw Error("expected an array");
            }
        }

        private string? ReadString()
        {
            Read();
            return _reader.TokenType switch
            {
                JsonTokenType.String => _reader.GetString(),
                JsonTokenType.Null => null,
                _ => throw Error("expected a string"),
            };
        }

        private long? ReadInt64()
        {
            Read();
            return _reader.TokenType switch
            {
                JsonTokenType.Number when _reader.TryGetInt64(out var value) => value,
                JsonTokenType.Null => null,
                _ => throw Error("expected an integer"),
            };
        }

        private double? ReadDouble()
        {
            Read();
            return _reader.TokenType switch
            {
                JsonTokenType.Number => _reader.GetDouble(),
                JsonTokenType.Null => null,
                _ => throw Error("expected a number"),
            };
        }

        private bool? ReadBoolean()
        {
            Read();
            return _reader.TokenType switch
            {
                JsonTokenType.True => true,
                JsonTokenType.False => false,
                JsonTokenType.Null => null,
                _ => throw Error("expected true or false"),
            };
        }

        private readonly WebhookParseException Error(string reason) => new(Path(), reason);

        private readonly WebhookParseException Missing(string name) => new(Path() + "." + name, "required property is missing");
    }
}
