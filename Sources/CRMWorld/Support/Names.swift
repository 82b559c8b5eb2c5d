import Foundation

/// The vocabulary the world names things with: Chinese personal names, company names, cities and
/// their provinces. Invented combinations of common characters, never real people.
enum Names {
    /// Common surnames, most frequent first (the draw favours the front of the list).
    static let surnames: [String] = Array(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    ).map(String.init)

    /// Characters of given names.
    static let givenCharacters: [String] = Array(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉文辉建国红梅鹏飞宇浩然欣怡子涵博雨轩晨思佳嘉俊颖婷雪琳晶斌志海波宁健峰亮林丹凯鑫倩晓东慧珊瑶琪诗梓睿泽昊天"
    ).map(String.init)

    /// A person's name: a surname (Zipf-like over the list) and one or two given-name characters.
    static func person(_ random: inout WorldRandom) -> String {
        let rank = min(surnames.count - 1, Int(Double(surnames.count) * pow(random.uniform(), 2.2)))
        let first = random.pick(givenCharacters)
        return surnames[rank] + first + (random.chance(0.7) ? random.pick(givenCharacters) : "")
    }

    static let companyWords = ["恒信", "鼎盛", "瑞丰", "汇通", "博远", "金石", "长青", "华睿", "嘉禾", "明德", "泰和", "远景",
                               "中和", "启元", "正阳", "宏达", "润泽", "天成", "弘毅", "致远"]
    static let companySuffixes = ["投资管理有限公司", "资产管理有限公司", "实业有限公司", "私募基金管理有限公司", "科技股份有限公司", "贸易有限公司"]

    /// An institution's name, e.g. 杭州瑞丰投资管理有限公司.
    static func institution(city: String, _ random: inout WorldRandom) -> String {
        city + random.pick(companyWords) + random.pick(companySuffixes)
    }

    /// A city with its province and a relative size (the share of the firm's customers it holds).
    struct City {
        let name: String
        let province: String
        let size: Double
    }

    static let cities: [City] = [
        City(name: "上海", province: "上海", size: 10), City(name: "北京", province: "北京", size: 9),
        City(name: "深圳", province: "广东", size: 8), City(name: "广州", province: "广东", size: 6),
        City(name: "杭州", province: "浙江", size: 5), City(name: "南京", province: "江苏", size: 4),
        City(name: "成都", province: "四川", size: 4), City(name: "武汉", province: "湖北", size: 3.5),
        City(name: "苏州", province: "江苏", size: 3.5), City(name: "重庆", province: "重庆", size: 3),
        City(name: "西安", province: "陕西", size: 3), City(name: "天津", province: "天津", size: 3),
        City(name: "长沙", province: "湖南", size: 2.5), City(name: "郑州", province: "河南", size: 2.5),
        City(name: "宁波", province: "浙江", size: 2.5), City(name: "青岛", province: "山东", size: 2.2),
        City(name: "济南", province: "山东", size: 2), City(name: "厦门", province: "福建", size: 2),
        City(name: "福州", province: "福建", size: 2), City(name: "合肥", province: "安徽", size: 2),
        City(name: "无锡", province: "江苏", size: 2), City(name: "东莞", province: "广东", size: 1.8),
        City(name: "佛山", province: "广东", size: 1.8), City(name: "沈阳", province: "辽宁", size: 1.6),
        City(name: "大连", province: "辽宁", size: 1.5), City(name: "昆明", province: "云南", size: 1.4),
        City(name: "南昌", province: "江西", size: 1.4), City(name: "温州", province: "浙江", size: 1.4),
        City(name: "哈尔滨", province: "黑龙江", size: 1.3), City(name: "长春", province: "吉林", size: 1.2),
        City(name: "石家庄", province: "河北", size: 1.2), City(name: "太原", province: "山西", size: 1.1),
        City(name: "南宁", province: "广西", size: 1.1), City(name: "贵阳", province: "贵州", size: 1),
        City(name: "烟台", province: "山东", size: 1), City(name: "兰州", province: "甘肃", size: 0.8),
        City(name: "海口", province: "海南", size: 0.8), City(name: "乌鲁木齐", province: "新疆", size: 0.7),
        City(name: "呼和浩特", province: "内蒙古", size: 0.6), City(name: "银川", province: "宁夏", size: 0.5),
    ]

    /// Streets branches sit on; a branch is "<city><street>证券营业部".
    static let streets = ["人民路", "中山路", "解放路", "建设路", "世纪大道", "金融街", "延安路", "长江路", "新华路", "和平路",
                          "滨江大道", "南京路", "北京路", "黄河路", "天府大道", "深南大道", "珠江新城", "钱江新城", "高新区", "东方路"]
}
