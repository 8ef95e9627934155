"""The DfE children in need census code lists (statutory.md §4.2) that casework records use. The
census export writes the codes; the forms show the labels; Annex A adds Ofsted's prefixes."""

from django.db import models


class PrimaryNeed(models.TextChoices):
    N0 = "N0", "Not stated"
    N1 = "N1", "Abuse or neglect"
    N2 = "N2", "Child's disability or illness"
    N3 = "N3", "Parental disability or illness"
    N4 = "N4", "Family in acute stress"
    N5 = "N5", "Family dysfunction"
    N6 = "N6", "Socially unacceptable behaviour"
    N7 = "N7", "Low income"
    N8 = "N8", "Absent parenting"
    N9 = "N9", "Cases other than children in need"


class ClosureReason(models.TextChoices):
    RC1 = "RC1", "Adopted"
    RC2 = "RC2", "Died"
    RC3 = "RC3", "Child arrangements order"
    RC4 = "RC4", "Special guardianship order"
    RC5 = "RC5", "Transferred to services of another local authority"
    RC6 = "RC6", "Transferred to adult social care"
    RC7 = "RC7", "Services ceased for any other reason, including the child no longer in need"
    RC8 = "RC8", "Case closed after assessment, no further action"
    RC9 = "RC9", "Case closed after assessment, referred to early help"


class AbuseCategory(models.TextChoices):
    NEG = "NEG", "Neglect"
    PHY = "PHY", "Physical abuse"
    SAB = "SAB", "Sexual abuse"
    EMO = "EMO", "Emotional abuse"
    MUL = "MUL", "Multiple (not recommended)"


class Ethnicity(models.TextChoices):
    WBRI = "WBRI", "White British"
    WIRI = "WIRI", "White Irish"
    WIRT = "WIRT", "Traveller of Irish heritage"
    WOTH = "WOTH", "Any other White background"
    WROM = "WROM", "Gypsy or Roma"
    MWBC = "MWBC", "White and Black Caribbean"
    MWBA = "MWBA", "White and Black African"
    MWAS = "MWAS", "White and Asian"
    MOTH = "MOTH", "Any other mixed background"
    AIND = "AIND", "Indian"
    APKN = "APKN", "Pakistani"
    ABAN = "ABAN", "Bangladeshi"
    AOTH = "AOTH", "Any other Asian background"
    BCRB = "BCRB", "Caribbean"
    BAFR = "BAFR", "African"
    BOTH = "BOTH", "Any other Black background"
    CHNE = "CHNE", "Chinese"
    OOTH = "OOTH", "Any other ethnic group"
    REFU = "REFU", "Refused"
    NOBT = "NOBT", "Information not yet obtained"


class Disability(models.TextChoices):
    NONE = "NONE", "No disability"
    MOB = "MOB", "Mobility"
    HAND = "HAND", "Hand function"
    PC = "PC", "Personal care"
    INC = "INC", "Incontinence"
    COMM = "COMM", "Communication"
    LD = "LD", "Learning"
    HEAR = "HEAR", "Hearing"
    VIS = "VIS", "Vision"
    BEH = "BEH", "Behaviour"
    CON = "CON", "Consciousness"
    AUT = "AUT", "Autism or Asperger syndrome"
    DDA = "DDA", "Other disability"


class UPNUnknown(models.TextChoices):
    UN1 = "UN1", "Child is aged under 6 years old and is not yet attending school"
    UN2 = "UN2", "Child has never attended school in England"
    UN3 = "UN3", "Child is educated outside of school"
    UN4 = "UN4", "Child newly received into care (UPN not yet obtained)"
    UN5 = "UN5", "Sources collating UPNs reflect discrepancy"
    UN6 = "UN6", "Child is aged under 6 years old and is not yet attending school (unborn)"
    UN7 = "UN7", "Child is aged 18 years or over"


class AssessmentFactor(models.TextChoices):
    """Factors identified at the end of an assessment. 21 stands alone (rule 8869); 18A and 19A
    are queried by DfE, so B and C are offered instead."""

    F1A = "1A", "Alcohol misuse: the child"
    F1B = "1B", "Alcohol misuse: a parent or carer"
    F1C = "1C", "Alcohol misuse: another person in the household"
    F2A = "2A", "Drug misuse: the child"
    F2B = "2B", "Drug misuse: a parent or carer"
    F2C = "2C", "Drug misuse: another person in the household"
    F3A = "3A", "Domestic abuse: the child is the subject"
    F3B = "3B", "Domestic abuse: a parent or carer is the subject"
    F3C = "3C", "Domestic abuse: another person in the household is the subject"
    F4A = "4A", "Mental health: the child"
    F4B = "4B", "Mental health: a parent or carer"
    F4C = "4C", "Mental health: another person in the household"
    F5A = "5A", "Learning disability: the child"
    F5B = "5B", "Learning disability: a parent or carer"
    F5C = "5C", "Learning disability: another person in the household"
    F6A = "6A", "Physical disability or illness: the child"
    F6B = "6B", "Physical disability or illness: a parent or carer"
    F6C = "6C", "Physical disability or illness: another person in the household"
    F7A = "7A", "Young carer"
    F8B = "8B", "Privately fostered: overseas child, parents intend to leave"
    F8C = "8C", "Privately fostered: overseas child, parents remain"
    F8D = "8D", "Privately fostered: UK child in education or language course"
    F8E = "8E", "Privately fostered: UK child, parents' study or work"
    F8F = "8F", "Privately fostered: other"
    F9A = "9A", "Unaccompanied asylum-seeking child"
    F10A = "10A", "Going or being missing"
    F11A = "11A", "Child sexual exploitation"
    F12A = "12A", "Trafficking"
    F13A = "13A", "Gangs"
    F14A = "14A", "Socially unacceptable behaviour"
    F15A = "15A", "Self-harm"
    F16A = "16A", "Neglect"
    F17A = "17A", "Emotional abuse"
    F18B = "18B", "Physical abuse: child on child"
    F18C = "18C", "Physical abuse: adult on child"
    F19B = "19B", "Sexual abuse: child on child"
    F19C = "19C", "Sexual abuse: adult on child"
    F20 = "20", "Other"
    F21 = "21", "No factors identified"
    F22A = "22A", "Female genital mutilation"
    F23A = "23A", "Abuse linked to faith or belief"
    F24A = "24A", "Child criminal exploitation"


NO_FACTORS = AssessmentFactor.F21.value
